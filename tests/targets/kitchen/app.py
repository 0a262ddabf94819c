"""Rampart test target: kitchen (FastAPI + SQLAlchemy on PostgreSQL).

A restaurant's ordering API written the way FastAPI apps are, not the way
Rampart's own suites are:

* Logins are OAuth2's password flow: ``POST /token`` takes a form
  (``OAuth2PasswordRequestForm``) and answers ``{"access_token", "token_type"}``;
  every other route reads ``Authorization: Bearer …``. A JSON login gets
  FastAPI's ``422``.
* Roles are the enum ``Customer | Employee | Chef``; the spec's ``Security``
  scopes name what each operation needs (``staff``, ``chef``).
* Orders are addressed by an order number (``/orders/{order_number}``,
  ``ORD-`` and hex); who owns one shows only in the caller's own
  ``GET /orders``.
* Errors are FastAPI's: ``{"detail": …}`` with a 4xx.

Twins (env ``TWIN``):

* ``vulnerable`` - any logged-in caller reads, changes and cancels any
  order; the chef's sales
  report and the kitchen queue check the token, not the role or the
  scope; ``PUT /users/me`` copies every field it is sent (the update model
  allows extra fields) and the sign-up (``POST /users``) takes a ``role``;
  anyone may set anyone's password (``PUT /users/{username}/password``);
  the token endpoint says "unknown user" or "wrong password"; placing an
  order takes any field (``priority = "vip"`` included); the scopes
  are declared and never checked, so a customer also removes dishes from
  the shared menu (``DELETE /menu/{dish_id}``) and changes roles
  (``PUT /users/{username}/role``).
* ``fixed`` - orders are their owner's (staff may read all), the report,
  the queue, the menu's changes and role changes check the role (``Security`` scopes and a dependency),
  ``PUT /users/me`` takes its declared fields only, one login failure
  message, failed logins throttled.

Environment: ``TWIN``, ``PORT``, ``DATABASE_URL`` (a PostgreSQL database
this app may drop and re-create tables in).

Test-only routes: ``GET /__test__/state`` (users with token and password
digests, orders, dishes), ``GET /__test__/methods``, ``GET /__test__/paths``, ``POST /__test__/reset``.
"""

from __future__ import annotations

import enum
import hashlib
import os
import secrets
import sys
import threading
import time
from typing import Annotated

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

import uvicorn  # noqa: E402
from fastapi import Depends, FastAPI, HTTPException, Request, Response, Security, status  # noqa: E402
from fastapi.security import OAuth2PasswordBearer, OAuth2PasswordRequestForm, SecurityScopes  # noqa: E402
from pydantic import BaseModel, ConfigDict  # noqa: E402
from sqlalchemy import Enum, ForeignKey, String, create_engine, select  # noqa: E402
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column  # noqa: E402

from common import watchdog  # noqa: E402
from common.twin import twin_and_port  # noqa: E402

TWIN, VULNERABLE, PORT = twin_and_port()
DATABASE_URL = os.environ.get("DATABASE_URL") or sys.exit("DATABASE_URL must be set")


class Role(str, enum.Enum):
    customer = "Customer"
    employee = "Employee"
    chef = "Chef"


SEED_USERS = [
    # username, full name, email, role, token, password
    ("ana", "Ana Alvarez", "ana@kitchen.example", Role.customer, "kt_ana_5e1c9a", "ana-pass-kitchen"),
    ("ben", "Ben Brook", "ben@kitchen.example", Role.customer, "kt_ben_93f0d2", "ben-pass-kitchen"),
    ("gordon", "Gordon Grill", "gordon@kitchen.example", Role.chef, "kt_gordon_7a44b1", "gordon-pass-kitchen"),
]
SEED_DISHES = [
    # code, name, price
    ("DSH-3c9e1a", "mushroom risotto", 14.5),
    ("DSH-b70d42", "fish and chips", 12.0),
]
SEED_ORDERS = [
    # number, owner, dish, notes
    ("ORD-7f3a91c2", "ana", "mushroom risotto", "ana's allergy: walnuts"),
    ("ORD-c45e0b77", "ben", "fish and chips", "deliver to ben at 12 Harbour Lane"),
    ("ORD-1b9d2e48", "gordon", "staff meal", "for the night shift"),
]


class Base(DeclarativeBase):
    pass


class User(Base):
    __tablename__ = "users"
    username: Mapped[str] = mapped_column(String(64), primary_key=True)
    full_name: Mapped[str] = mapped_column(String(120), default="")
    email: Mapped[str] = mapped_column(String(200), default="")
    phone: Mapped[str] = mapped_column(String(40), default="")
    role: Mapped[Role] = mapped_column(Enum(Role, values_callable=lambda e: [m.value for m in e]),
                                       default=Role.customer)
    token: Mapped[str] = mapped_column(String(80), unique=True)
    password_hash: Mapped[str] = mapped_column(String(200))


class Priority(str, enum.Enum):
    normal = "normal"
    vip = "vip"


class Order(Base):
    __tablename__ = "orders"
    order_number: Mapped[str] = mapped_column(String(32), primary_key=True)
    owner: Mapped[str] = mapped_column(ForeignKey("users.username"))
    dish: Mapped[str] = mapped_column(String(120))
    notes: Mapped[str] = mapped_column(String(300), default="")
    # The kitchen cooks VIP orders first; only staff may grant it.
    priority: Mapped[Priority] = mapped_column(
        Enum(Priority, values_callable=lambda e: [m.value for m in e]), default=Priority.normal)


class Dish(Base):
    # The menu is shared: the chef adds and removes dishes.
    __tablename__ = "dishes"
    dish_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    price: Mapped[float] = mapped_column(default=0.0)


engine = create_engine(DATABASE_URL, pool_pre_ping=True)
LOCK = threading.Lock()
FAILURES: dict = {}
METHODS: dict = {}
PATHS: dict = {}


def hash_password(password: str, salt: str) -> str:
    return salt + "$" + hashlib.pbkdf2_hmac("sha256", password.encode(), salt.encode(), 2000).hex()


def seed() -> None:
    FAILURES.clear()
    with LOCK:
        Base.metadata.drop_all(engine)
        Base.metadata.create_all(engine)
        with Session(engine) as db:
            for username, name, email, role, token, password in SEED_USERS:
                db.add(User(username=username, full_name=name, email=email, role=role, token=token,
                            password_hash=hash_password(password, username)))
            for code, name, price in SEED_DISHES:
                db.add(Dish(dish_id=code, name=name, price=price))
            db.flush()
            for number, owner, dish, notes in SEED_ORDERS:
                db.add(Order(order_number=number, owner=owner, dish=dish, notes=notes))
            db.commit()


oauth2 = OAuth2PasswordBearer(
    tokenUrl="token",
    scopes={"orders": "Place and read your orders", "staff": "Work the kitchen queue",
            "chef": "Run the restaurant"},
)
app = FastAPI(title="Kitchen", version="1.0")


@app.middleware("http")
async def mark(request: Request, call_next):
    path = request.url.path
    if not path.startswith("/__test__") and path != "/api/health":
        with LOCK:
            METHODS[request.method] = METHODS.get(request.method, 0) + 1
            PATHS[(request.method, path)] = PATHS.get((request.method, path), 0) + 1
    response = await call_next(request)
    response.headers["X-Rampart-Twin"] = TWIN
    response.headers.setdefault("Cache-Control", "no-store")
    return response


def get_db():
    with Session(engine) as db:
        yield db


DB = Annotated[Session, Depends(get_db)]
SCOPES_OF = {Role.customer: {"orders"}, Role.employee: {"orders", "staff"},
             Role.chef: {"orders", "staff", "chef"}}


def current_user(scopes: SecurityScopes, db: DB, token: Annotated[str, Depends(oauth2)]) -> User:
    user = db.scalar(select(User).where(User.token == token))
    if user is None:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "Not authenticated",
                            headers={"WWW-Authenticate": "Bearer"})
    # The vulnerable twin declares scopes in the spec and never checks them.
    if not VULNERABLE and any(s not in SCOPES_OF[user.role] for s in scopes.scopes):
        raise HTTPException(status.HTTP_403_FORBIDDEN, "Not enough permissions")
    return user


class UserOut(BaseModel):
    username: str
    full_name: str
    email: str
    phone: str
    role: Role


class UserUpdate(BaseModel):
    # The vulnerable twin's update model lets undeclared fields through.
    model_config = ConfigDict(extra="allow" if VULNERABLE else "ignore")
    full_name: str | None = None
    phone: str | None = None


class OrderOut(BaseModel):
    order_number: str
    dish: str
    notes: str
    priority: Priority


def order_out(order: Order) -> OrderOut:
    return OrderOut(order_number=order.order_number, dish=order.dish, notes=order.notes,
                    priority=order.priority)


def user_out(user: User) -> UserOut:
    return UserOut(username=user.username, full_name=user.full_name, email=user.email,
                   phone=user.phone, role=user.role)


@app.get("/api/health", include_in_schema=False)
def health():
    return {"status": "ok", "twin": TWIN}


@app.post("/token")
def login(form: Annotated[OAuth2PasswordRequestForm, Depends()], request: Request, db: DB):
    client = (request.client.host if request.client else "?", int(time.time() // 60))
    if not VULNERABLE and FAILURES.get(client, 0) >= 8:
        raise HTTPException(status.HTTP_429_TOO_MANY_REQUESTS, "Too many attempts",
                            headers={"Retry-After": str(60 - int(time.time()) % 60)})
    user = db.get(User, form.username)
    stored = user.password_hash if user else "x$" + "0" * 64
    ok = user is not None and secrets.compare_digest(
        hash_password(form.password, stored.split("$", 1)[0]), stored)
    if not ok:
        with LOCK:
            FAILURES[client] = FAILURES.get(client, 0) + 1
        if VULNERABLE:
            raise HTTPException(status.HTTP_401_UNAUTHORIZED,
                                "Unknown user" if user is None else "Wrong password")
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "Incorrect username or password")
    return {"access_token": user.token, "token_type": "bearer"}


@app.get("/users/me", response_model=UserOut)
def read_me(user: Annotated[User, Security(current_user, scopes=["orders"])]):
    return user_out(user)


@app.put("/users/me", response_model=UserOut)
def update_me(changes: UserUpdate, user: Annotated[User, Security(current_user, scopes=["orders"])], db: DB):
    record = db.get(User, user.username)
    for name, value in changes.model_dump(exclude_unset=True).items():
        if name == "role":
            value = Role(value)
        elif name not in ("full_name", "phone", "email"):
            continue
        setattr(record, name, value)
    db.commit()
    return user_out(record)


@app.get("/orders", response_model=list[OrderOut])
def my_orders(user: Annotated[User, Security(current_user, scopes=["orders"])], db: DB):
    orders = db.scalars(select(Order).where(Order.owner == user.username)).all()
    return [order_out(o) for o in orders]


@app.get("/orders/{order_number}", response_model=OrderOut)
def read_order(order_number: str, user: Annotated[User, Security(current_user, scopes=["orders"])], db: DB):
    order = order_for(order_number, user, db)
    return order_out(order)


class UserCreate(BaseModel):
    username: str
    password: str
    email: str = ""
    full_name: str = ""
    if VULNERABLE:
        # One model for the admin console and the public sign-up.
        role: Role = Role.customer


class PasswordChange(BaseModel):
    password: str


@app.post("/users", response_model=UserOut, status_code=201)
def sign_up(new: UserCreate, db: DB):
    if db.get(User, new.username) is not None:
        raise HTTPException(status.HTTP_409_CONFLICT, "Username taken")
    user = User(username=new.username, full_name=new.full_name, email=new.email,
                role=getattr(new, "role", Role.customer), token="kt_" + secrets.token_hex(8),
                password_hash=hash_password(new.password, new.username))
    db.add(user)
    db.commit()
    return user_out(user)


@app.put("/users/{username}/password")
def change_password(username: str, change: PasswordChange,
                    user: Annotated[User, Security(current_user, scopes=["orders"])], db: DB):
    target = db.get(User, username)
    if target is None or not (VULNERABLE or target.username == user.username):
        raise HTTPException(status.HTTP_404_NOT_FOUND, "User not found")
    if len(change.password) < 8:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_ENTITY, "Password too short")
    target.password_hash = hash_password(change.password, target.username)
    db.commit()
    return {"username": username}


class OrderIn(BaseModel):
    # The vulnerable twin's create model lets undeclared fields through.
    model_config = ConfigDict(extra="allow" if VULNERABLE else "ignore")
    dish: str
    notes: str = ""


class OrderChange(BaseModel):
    notes: str


def order_for(order_number: str, user: User, db: Session) -> Order:
    order = db.get(Order, order_number)
    if order is None or not (VULNERABLE or order.owner == user.username or user.role != Role.customer):
        raise HTTPException(status.HTTP_404_NOT_FOUND, "Order not found")
    return order


@app.post("/orders", response_model=OrderOut, status_code=201)
def place_order(new: OrderIn, user: Annotated[User, Security(current_user, scopes=["orders"])], db: DB):
    order = Order(order_number="ORD-" + secrets.token_hex(4), owner=user.username, dish=new.dish, notes=new.notes)
    extra = new.model_extra or {}
    if extra.get("priority") in [p.value for p in Priority]:
        order.priority = Priority(extra["priority"])
    db.add(order)
    db.commit()
    return order_out(order)


@app.patch("/orders/{order_number}", response_model=OrderOut)
def change_order(order_number: str, change: OrderChange,
                 user: Annotated[User, Security(current_user, scopes=["orders"])], db: DB):
    order = order_for(order_number, user, db)
    order.notes = change.notes
    db.commit()
    return order_out(order)


@app.delete("/orders/{order_number}", status_code=204)
def cancel_order(order_number: str, user: Annotated[User, Security(current_user, scopes=["orders"])], db: DB):
    db.delete(order_for(order_number, user, db))
    db.commit()


class DishIn(BaseModel):
    name: str
    price: float = 0.0


class DishOut(BaseModel):
    dish_id: str
    name: str
    price: float


class RoleChange(BaseModel):
    role: Role


def dish_out(dish: Dish) -> DishOut:
    return DishOut(dish_id=dish.dish_id, name=dish.name, price=dish.price)


@app.get("/menu", response_model=list[DishOut])
def menu(db: DB):
    return [dish_out(d) for d in db.scalars(select(Dish).order_by(Dish.dish_id))]


@app.post("/menu", response_model=DishOut, status_code=201)
def add_dish(new: DishIn, response: Response,
             user: Annotated[User, Security(current_user, scopes=["chef"])], db: DB):
    dish = Dish(dish_id="DSH-" + secrets.token_hex(3), name=new.name, price=new.price)
    db.add(dish)
    db.commit()
    response.headers["Location"] = f"/menu/{dish.dish_id}"
    return dish_out(dish)


@app.get("/menu/{dish_id}", response_model=DishOut)
def read_dish(dish_id: str, db: DB):
    dish = db.get(Dish, dish_id)
    if dish is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "Dish not found")
    return dish_out(dish)


@app.delete("/menu/{dish_id}", status_code=204)
def remove_dish(dish_id: str, user: Annotated[User, Security(current_user, scopes=["chef"])], db: DB):
    dish = db.get(Dish, dish_id)
    if dish is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "Dish not found")
    db.delete(dish)
    db.commit()


@app.put("/users/{username}/role", response_model=UserOut)
def set_role(username: str, change: RoleChange,
             user: Annotated[User, Security(current_user, scopes=["chef"])], db: DB):
    target = db.get(User, username)
    if target is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "User not found")
    target.role = change.role
    db.commit()
    return user_out(target)


@app.get("/kitchen/queue", response_model=list[OrderOut])
def queue(user: Annotated[User, Security(current_user, scopes=["staff"])], db: DB):
    orders = db.scalars(select(Order)).all()
    return [order_out(o) for o in orders]


@app.get("/reports/sales")
def sales(user: Annotated[User, Security(current_user, scopes=["chef"])], db: DB):
    users = db.scalars(select(User)).all()
    return {"customers": [{"username": u.username, "email": u.email} for u in users], "revenue": 5321.5}


@app.get("/__test__/state", include_in_schema=False)
def test_state(db: DB):
    users = [dict(user_out(u).model_dump(mode="json"),
                  token=hashlib.sha256(u.token.encode()).hexdigest()[:12],
                  password=hashlib.sha256(u.password_hash.encode()).hexdigest()[:12])
             for u in db.scalars(select(User).order_by(User.username))]
    orders = [{"order_number": o.order_number, "owner": o.owner, "dish": o.dish}
              for o in db.scalars(select(Order).order_by(Order.order_number))]
    dishes = [dish_out(d).model_dump() for d in db.scalars(select(Dish).order_by(Dish.dish_id))]
    return {"users": users, "orders": orders, "dishes": dishes}


@app.get("/__test__/methods", include_in_schema=False)
def test_methods():
    with LOCK:
        return {m: METHODS.get(m, 0) for m in ("GET", "POST", "PATCH", "PUT", "DELETE")}


@app.get("/__test__/paths", include_in_schema=False)
def test_paths():
    with LOCK:
        return [{"method": m, "path": p, "count": n} for (m, p), n in sorted(PATHS.items())]


@app.post("/__test__/reset", include_in_schema=False)
def test_reset(request: Request):
    seed()
    if request.query_params.get("counters") in ("1", "true", "yes"):
        with LOCK:
            METHODS.clear()
            PATHS.clear()
    return {"status": "reset", "twin": TWIN}


if __name__ == "__main__":
    watchdog.start()
    seed()
    print(f"kitchen[{TWIN}] on 127.0.0.1:{PORT}", flush=True)
    uvicorn.run(app, host="127.0.0.1", port=PORT, log_level="warning")
