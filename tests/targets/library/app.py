"""Rampart test target: library (Flask + SQLAlchemy on SQLite).

A lending library's API shaped the way many small APIs are, not the way
Rampart's own suites are:

* Books are addressed by their **title** (``/api/books/{title}``) and users
  by their **username** (``/api/users/{username}``): no ``*_id`` anywhere.
  Who owns a book shows only in each caller's own ``GET /api/my/books``.
* Every answer is ``200`` with a JSend-like body: ``{"status": "success",
  "data": ...}`` or ``{"status": "fail", "message": ...}`` (only a missing
  or unknown token gets a real ``401``).
* Roles are an enum, ``reader | author | librarian``; librarians run the
  admin area.
* Sign-up (``POST /api/signup``), JSON login (``POST /api/login``, the
  token in ``data.token``), a profile update (``PATCH /api/me``) and a
  password change addressed by username
  (``PUT /api/users/{username}/password``).

Twins (env ``TWIN``):

* ``vulnerable`` - any logged-in caller reads, edits and withdraws any
  book (private notes included) and any user's full profile; ``GET /api/admin/users`` answers
  every logged-in caller (a new book may set its own ``approved``), and so do ``PUT /api/admin/users/{username}/role``
  and ``DELETE /api/shelves/{name}`` (shelves are shared; adding one is
  librarians' only in both twins); ``PATCH /api/me`` and sign-up copy every field
  they are sent (``role`` included); the login says "no such user" or
  "wrong password"; anyone may change anyone's password.
* ``fixed`` - books are the owner's (or public), profiles the caller's
  own, the admin area (roles, shelf removal) librarians' only, updates and sign-ups take their
  declared fields only, one login failure message, passwords changed by
  their owner only; failed logins are throttled (429 after eight in a
  minute).

Environment: ``TWIN``, ``PORT`` (required), ``DB_PATH`` (default: a file in
a fresh temporary directory).

Test-only routes (``common/testing.py`` plus): ``GET /__test__/state``
(every user with a digest of its token and password, and every book),
``POST /__test__/reset`` (the seed data back).
"""

from __future__ import annotations

import functools
import hashlib
import os
import secrets
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from flask import g, request  # noqa: E402
from sqlalchemy import ForeignKey, String, create_engine, delete, select  # noqa: E402
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column  # noqa: E402

from common import testing  # noqa: E402
from common.twin import twin_and_port  # noqa: E402
from common.web import create_app, respond, serve  # noqa: E402

TWIN, VULNERABLE, PORT = twin_and_port()
DB_PATH = os.environ.get("DB_PATH") or os.path.join(
    tempfile.mkdtemp(prefix="rampart-library-"), "library.db")

ROLES = ["reader", "author", "librarian"]
SEED_USERS = [
    # username, display name, email, role, token, password
    ("alice", "Alice Archer", "alice@library.example", "reader", "tok_alice_lib_41d2", "alice-pass-lib"),
    ("bob", "Bob Binder", "bob@library.example", "reader", "tok_bob_lib_8c7e", "bob-pass-lib"),
    ("carol", "Carol Curator", "carol@library.example", "librarian", "tok_carol_lib_2f90", "carol-pass-lib"),
]
SEED_SHELVES = [
    # name, description
    ("Reference", "dictionaries and atlases"),
    ("New arrivals", "this month's books"),
]
SEED_BOOKS = [
    # title, owner, pages, notes, public
    ("Alice's Annotated Atlas", "alice", 312, "margin notes: the key is under the mat", False),
    ("Bob's Book of Knots", "bob", 128, "lent to dave, never returned", False),
    ("Carol's Cataloguing Rules", "carol", 90, "draft for the board", False),
    ("Public Domain Poems", "carol", 64, "", True),
]


class Base(DeclarativeBase):
    pass


class User(Base):
    __tablename__ = "users"
    username: Mapped[str] = mapped_column(String(64), primary_key=True)
    display_name: Mapped[str] = mapped_column(String(120), default="")
    email: Mapped[str] = mapped_column(String(200), default="")
    role: Mapped[str] = mapped_column(String(20), default="reader")
    token: Mapped[str] = mapped_column(String(80), unique=True)
    password_hash: Mapped[str] = mapped_column(String(200))

    def view(self) -> dict:
        return {"username": self.username, "display_name": self.display_name,
                "email": self.email, "role": self.role}


class Book(Base):
    __tablename__ = "books"
    title: Mapped[str] = mapped_column(String(200), primary_key=True)
    owner: Mapped[str] = mapped_column(ForeignKey("users.username"))
    pages: Mapped[int] = mapped_column(default=0)
    notes: Mapped[str] = mapped_column(String(500), default="")
    public: Mapped[bool] = mapped_column(default=False)
    # Librarians approve books for the catalogue; no caller sets it.
    approved: Mapped[bool] = mapped_column(default=False)

    def view(self) -> dict:
        return {"title": self.title, "pages": self.pages, "notes": self.notes,
                "visibility": "public" if self.public else "private", "approved": self.approved}


class Shelf(Base):
    # Shared by the whole library: librarians add and remove them.
    __tablename__ = "shelves"
    name: Mapped[str] = mapped_column(String(120), primary_key=True)
    description: Mapped[str] = mapped_column(String(300), default="")

    def view(self) -> dict:
        return {"name": self.name, "description": self.description}


# The fixed twin slows failed logins down: the client's address, its
# failures in the current minute.
FAILURES: dict = {}
FAILURE_LIMIT = 8

engine = create_engine(f"sqlite:///{DB_PATH}", connect_args={"check_same_thread": False})
WRITE_LOCK = threading.Lock()


def hash_password(password: str, salt: str) -> str:
    digest = hashlib.pbkdf2_hmac("sha256", password.encode(), salt.encode(), 2000)
    return f"{salt}${digest.hex()}"


def password_ok(user: User | None, password: str) -> bool:
    # Both twins spend the same work on unknown users (a dummy hash), so
    # only the vulnerable twin's messages tell the two apart.
    stored = user.password_hash if user else "dummy$" + "0" * 64
    salt = stored.split("$", 1)[0]
    return user is not None and secrets.compare_digest(hash_password(password, salt), stored)


def seed() -> None:
    FAILURES.clear()
    with WRITE_LOCK:
        Base.metadata.drop_all(engine)
        Base.metadata.create_all(engine)
        with Session(engine) as db:
            for username, display, email, role, token, password in SEED_USERS:
                db.add(User(username=username, display_name=display, email=email, role=role,
                            token=token, password_hash=hash_password(password, username)))
            for name, description in SEED_SHELVES:
                db.add(Shelf(name=name, description=description))
            for title, owner, pages, notes, public in SEED_BOOKS:
                db.add(Book(title=title, owner=owner, pages=pages, notes=notes, public=public))
            db.commit()


app = create_app(__name__, TWIN)
testing.instrument(app, TWIN, reset=seed)


def success(data, status: int = 200):
    return respond({"status": "success", "data": data}, status)


def fail(message: str):
    # The library's convention: every refusal is a 200 that says so.
    return respond({"status": "fail", "message": message}, 200)


def body() -> dict:
    data = request.get_json(silent=True)
    if isinstance(data, dict):
        return data
    return {k: v for k, v in request.form.items()}


@app.before_request
def authenticate():
    g.db = Session(engine)
    g.user = None
    header = request.headers.get("Authorization", "")
    if header.startswith("Token "):
        g.user = g.db.scalar(select(User).where(User.token == header[6:].strip()))


@app.teardown_request
def close(_exc):
    db = g.pop("db", None)
    if db is not None:
        db.close()


def signed_in(view):
    """The view answers 401 to a caller without a valid credential."""
    @functools.wraps(view)
    def guarded(*args, **kwargs):
        if g.user is None:
            return respond({"status": "error", "message": "authentication required"}, 401)
        return view(*args, **kwargs)
    return guarded


@app.post("/api/signup")
def signup():
    data = body()
    username = str(data.get("username") or "").strip()
    password = str(data.get("password") or "")
    if not username or not password:
        return fail("username and password are required")
    with WRITE_LOCK:
        if g.db.get(User, username) is not None:
            return fail("username taken")
        user = User(username=username, display_name=str(data.get("display_name") or username),
                    email=str(data.get("email") or ""), role="reader",
                    token="tok_" + secrets.token_hex(12), password_hash=hash_password(password, username))
        if VULNERABLE:
            # Every field the body names lands on the record.
            for name in ("role", "display_name", "email"):
                if name in data:
                    setattr(user, name, str(data[name]))
        g.db.add(user)
        g.db.commit()
    return success(user.view(), 201)


@app.post("/api/login")
def login():
    data = body()
    client = (request.remote_addr, int(time.time() // 60))
    if not VULNERABLE and FAILURES.get(client, 0) >= FAILURE_LIMIT:
        # The failures are counted per clock minute: the wait is what is left of it.
        return respond({"status": "error", "message": "too many attempts"}, 429,
                       {"Retry-After": str(60 - int(time.time()) % 60)})
    user = g.db.get(User, str(data.get("username") or ""))
    if not password_ok(user, str(data.get("password") or "")):
        if VULNERABLE:
            return fail("no such user" if user is None else "wrong password")
        with WRITE_LOCK:
            FAILURES[client] = FAILURES.get(client, 0) + 1
        return fail("invalid username or password")
    return success({"token": user.token})


@app.get("/api/me")
@signed_in
def me():
    return success(g.user.view())


@app.patch("/api/me")
@signed_in
def update_me():
    data = body()
    allowed = ("display_name", "email", "role") if VULNERABLE else ("display_name",)
    with WRITE_LOCK:
        for name in allowed:
            if name in data:
                setattr(g.user, name, str(data[name]))
        g.db.commit()
    return success(g.user.view())


@app.get("/api/my/books")
@signed_in
def my_books():
    books = g.db.scalars(select(Book).where(Book.owner == g.user.username)).all()
    return success([b.view() for b in books])


@app.get("/api/books")
def catalogue():
    books = g.db.scalars(select(Book).where(Book.public.is_(True))).all()
    return success([{"title": b.title, "pages": b.pages} for b in books])


@app.post("/api/books")
@signed_in
def add_book():
    data = body()
    title = str(data.get("title") or "").strip()
    if not title:
        return fail("a title is required")
    with WRITE_LOCK:
        if g.db.get(Book, title) is not None:
            return fail("a book with that title exists")
        book = Book(title=title, owner=g.user.username, pages=int(data.get("pages") or 0),
                    notes=str(data.get("notes") or ""), public=data.get("visibility") == "public")
        if VULNERABLE and "approved" in data:
            # The create copies what it is sent.
            book.approved = bool(data["approved"])
        g.db.add(book)
        g.db.commit()
    return success(book.view(), 201)


def readable(book: Book | None) -> bool:
    if book is None:
        return False
    return VULNERABLE or book.public or book.owner == g.user.username or g.user.role == "librarian"


@app.get("/api/books/<path:title>")
@signed_in
def get_book(title):
    book = g.db.get(Book, title)
    if not readable(book):
        return fail("no such book")
    return success(book.view())


@app.patch("/api/books/<path:title>")
@signed_in
def update_book(title):
    book = g.db.get(Book, title)
    if book is None or not (VULNERABLE or book.owner == g.user.username):
        return fail("no such book")
    data = body()
    with WRITE_LOCK:
        if "notes" in data:
            book.notes = str(data["notes"])
        if "pages" in data:
            book.pages = int(data["pages"] or 0)
        g.db.commit()
    return success(book.view())


@app.delete("/api/books/<path:title>")
@signed_in
def delete_book(title):
    book = g.db.get(Book, title)
    if book is None or not (VULNERABLE or book.owner == g.user.username or g.user.role == "librarian"):
        return fail("no such book")
    with WRITE_LOCK:
        g.db.delete(book)
        g.db.commit()
    return success({"deleted": title})


@app.get("/api/users/<username>")
@signed_in
def get_user(username):
    user = g.db.get(User, username)
    if user is None or not (VULNERABLE or user.username == g.user.username):
        return fail("no such user")
    return success(user.view())


@app.put("/api/users/<username>/password")
@signed_in
def change_password(username):
    user = g.db.get(User, username)
    if user is None or not (VULNERABLE or user.username == g.user.username):
        return fail("no such user")
    password = str(body().get("password") or "")
    if len(password) < 8:
        return fail("the password needs 8 characters or more")
    with WRITE_LOCK:
        user.password_hash = hash_password(password, user.username)
        g.db.commit()
    return success({"username": username})


@app.get("/api/admin/users")
@signed_in
def admin_users():
    if not VULNERABLE and g.user.role != "librarian":
        return fail("librarians only")
    users = g.db.scalars(select(User)).all()
    return success([u.view() for u in users])


@app.put("/api/admin/users/<username>/role")
@signed_in
def set_role(username):
    if not VULNERABLE and g.user.role != "librarian":
        return fail("librarians only")
    user = g.db.get(User, username)
    if user is None:
        return fail("no such user")
    role = str(body().get("role") or "")
    if role not in ROLES:
        return fail("unknown role")
    with WRITE_LOCK:
        user.role = role
        g.db.commit()
    return success(user.view())


@app.get("/api/shelves")
@signed_in
def shelves():
    return success([s.view() for s in g.db.scalars(select(Shelf).order_by(Shelf.name))])


@app.post("/api/shelves")
@signed_in
def add_shelf():
    # Both twins keep shelves the librarians' to add.
    if g.user.role != "librarian":
        return fail("librarians only")
    data = body()
    name = str(data.get("name") or "").strip()
    if not name:
        return fail("a name is required")
    with WRITE_LOCK:
        if g.db.get(Shelf, name) is not None:
            return fail("a shelf with that name exists")
        shelf = Shelf(name=name, description=str(data.get("description") or ""))
        g.db.add(shelf)
        g.db.commit()
    return success(shelf.view(), 201)


@app.get("/api/shelves/<path:name>")
@signed_in
def get_shelf(name):
    shelf = g.db.get(Shelf, name)
    return success(shelf.view()) if shelf else fail("no such shelf")


@app.delete("/api/shelves/<path:name>")
@signed_in
def remove_shelf(name):
    # The vulnerable twin forgot the role check it has on the create.
    if not VULNERABLE and g.user.role != "librarian":
        return fail("librarians only")
    shelf = g.db.get(Shelf, name)
    if shelf is None:
        return fail("no such shelf")
    with WRITE_LOCK:
        g.db.delete(shelf)
        g.db.commit()
    return success({"deleted": name})


@app.get("/__test__/state")
def test_state():
    with Session(engine) as db:
        users = [dict(u.view(), token=hashlib.sha256(u.token.encode()).hexdigest()[:12],
                      password=hashlib.sha256(u.password_hash.encode()).hexdigest()[:12])
                 for u in db.scalars(select(User).order_by(User.username))]
        books = [dict(b.view(), owner=b.owner) for b in db.scalars(select(Book).order_by(Book.title))]
        shelves = [s.view() for s in db.scalars(select(Shelf).order_by(Shelf.name))]
    return respond({"users": users, "books": books, "shelves": shelves})


def schema(properties: dict, required=()) -> dict:
    out = {"type": "object", "properties": properties}
    if required:
        out["required"] = list(required)
    return out


USER = schema({"username": {"type": "string"}, "display_name": {"type": "string"},
               "email": {"type": "string", "format": "email"},
               "role": {"type": "string", "enum": ROLES, "readOnly": True}})
BOOK = schema({"title": {"type": "string"}, "pages": {"type": "integer"}, "notes": {"type": "string"},
               "visibility": {"type": "string", "enum": ["private", "public"]},
               "approved": {"type": "boolean", "readOnly": True}})


def envelope(data: dict) -> dict:
    return schema({"status": {"type": "string", "enum": ["success", "fail"]}, "data": data,
                   "message": {"type": "string"}})


def answer(data: dict, code: str = "200") -> dict:
    return {code: {"description": "success, or a failure that says so",
                   "content": {"application/json": {"schema": envelope(data)}}}}


def json_body(properties: dict, required=()) -> dict:
    return {"required": True, "content": {"application/json": {"schema": schema(properties, required)}}}


SHELF = schema({"name": {"type": "string"}, "description": {"type": "string"}})
TITLE = [{"name": "title", "in": "path", "required": True, "schema": {"type": "string"}}]
USERNAME = [{"name": "username", "in": "path", "required": True, "schema": {"type": "string"}}]
OPENAPI = {
    "openapi": "3.0.3",
    "info": {"title": "Library", "version": "1.0"},
    "components": {"securitySchemes": {"token": {"type": "apiKey", "in": "header", "name": "Authorization"}}},
    "security": [{"token": []}],
    "paths": {
        "/api/signup": {"post": {"summary": "Create an account", "security": [],
                                 "requestBody": json_body({"username": {"type": "string"},
                                                           "password": {"type": "string", "format": "password"},
                                                           "email": {"type": "string", "format": "email"},
                                                           "display_name": {"type": "string"}},
                                                          ["username", "password"]),
                                 "responses": answer(USER, "201")}},
        "/api/login": {"post": {"summary": "Log in", "security": [],
                                "requestBody": json_body({"username": {"type": "string"},
                                                          "password": {"type": "string", "format": "password"}},
                                                         ["username", "password"]),
                                "responses": answer(schema({"token": {"type": "string"}}))}},
        "/api/me": {"get": {"summary": "Your profile", "responses": answer(USER)},
                    "patch": {"summary": "Update your profile",
                              "requestBody": json_body({"display_name": {"type": "string"}}),
                              "responses": answer(USER)}},
        "/api/my/books": {"get": {"summary": "Your books",
                                  "responses": answer({"type": "array", "items": BOOK})}},
        "/api/books": {"get": {"summary": "The public catalogue", "security": [],
                               "responses": answer({"type": "array", "items": BOOK})},
                       "post": {"summary": "Add a book", "requestBody": json_body(BOOK["properties"], ["title"]),
                                "responses": answer(BOOK, "201")}},
        "/api/books/{title}": {"parameters": TITLE,
                               "get": {"summary": "A book", "responses": answer(BOOK)},
                               "patch": {"summary": "Edit a book's notes",
                                         "requestBody": json_body({"notes": {"type": "string"},
                                                                   "pages": {"type": "integer"}}),
                                         "responses": answer(BOOK)},
                               "delete": {"summary": "Withdraw a book (its owner or a librarian)",
                                          "responses": answer(schema({"deleted": {"type": "string"}}))}},
        "/api/users/{username}": {"parameters": USERNAME,
                                  "get": {"summary": "A user's profile", "responses": answer(USER)}},
        "/api/users/{username}/password": {"parameters": USERNAME,
                                           "put": {"summary": "Change a password",
                                                   "requestBody": json_body({"password": {"type": "string"}},
                                                                            ["password"]),
                                                   "responses": answer(schema({"username": {"type": "string"}}))}},
        "/api/admin/users/{username}/role": {
            "parameters": USERNAME,
            "put": {"summary": "Change a user's role (librarians only)",
                    "requestBody": json_body({"role": {"type": "string", "enum": ROLES}}, ["role"]),
                    "responses": answer(USER)}},
        "/api/shelves": {"get": {"summary": "The shelves", "responses": answer({"type": "array", "items": SHELF})},
                         "post": {"summary": "Add a shelf (librarians only)",
                                  "requestBody": json_body(SHELF["properties"], ["name"]),
                                  "responses": answer(SHELF, "201")}},
        "/api/shelves/{name}": {"parameters": [{"name": "name", "in": "path", "required": True,
                                                "schema": {"type": "string"}}],
                                "get": {"summary": "A shelf", "responses": answer(SHELF)},
                                "delete": {"summary": "Remove a shelf (librarians only)",
                                           "responses": answer(schema({"deleted": {"type": "string"}}))}},
        "/api/admin/users": {"get": {"summary": "Every account (librarians only)",
                                     "responses": answer({"type": "array", "items": USER})}},
    },
}


@app.get("/openapi.json")
def openapi_document():
    return respond(OPENAPI)


if __name__ == "__main__":
    serve(app, PORT, f"library[{TWIN}] on 127.0.0.1:{PORT}", setup=seed)
