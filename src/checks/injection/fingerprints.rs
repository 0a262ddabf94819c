//! Data-store error messages that prove input reached a query: each
//! database's own syntax-error wording, the drivers' and ORMs' exception
//! names, and DynamoDB's and MongoDB's expression errors. A fingerprint
//! proves something only when the ordinary request does not show it too.

use std::ops::Range;
use std::sync::LazyLock;

use regex::Regex;

/// The data store an error names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Store {
    Sqlite,
    Postgresql,
    Mysql,
    SqlServer,
    Oracle,
    /// An ORM or driver error that does not name the database.
    Sql,
    DynamoDb,
    MongoDb,
}

impl Store {
    pub fn name(self) -> &'static str {
        match self {
            Store::Sqlite => "SQLite",
            Store::Postgresql => "PostgreSQL",
            Store::Mysql => "MySQL/MariaDB",
            Store::SqlServer => "SQL Server",
            Store::Oracle => "Oracle",
            Store::Sql => "SQL",
            Store::DynamoDb => "DynamoDB",
            Store::MongoDb => "MongoDB",
        }
    }

    /// The stack token the knowledge base's variants use for it.
    pub fn technology(self) -> Option<&'static str> {
        match self {
            Store::Sqlite => Some("sqlite"),
            Store::Postgresql => Some("postgresql"),
            Store::Mysql => Some("mysql"),
            Store::SqlServer => Some("mssql"),
            Store::Oracle => Some("oracle"),
            Store::Sql => None,
            Store::DynamoDb => Some("dynamodb"),
            Store::MongoDb => Some("mongodb"),
        }
    }

    pub fn is_sql(self) -> bool {
        !matches!(self, Store::DynamoDb | Store::MongoDb)
    }
}

/// One recognised error in a body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreError {
    pub store: Store,
    /// Where the message sits in the body.
    pub span: Range<usize>,
    /// Stack tokens the message reveals besides the store (an ORM).
    pub also: Vec<&'static str>,
}

fn re(pattern: &str) -> Regex {
    Regex::new(pattern).expect("valid fingerprint regex")
}

static FINGERPRINTS: LazyLock<Vec<(Store, Regex)>> = LazyLock::new(|| {
    vec![
        (
            Store::Sqlite,
            re(concat!(
                r"sqlite3\.(?:OperationalError|ProgrammingError|IntegrityError|DatabaseError|Warning)",
                r#"|unrecognized token: \\?""#,
                r"|SQLITE_ERROR|SQLite3::SQLException|System\.Data\.SQLite|SQLiteException",
                r"|org\.sqlite\.SQLiteException",
                r"|incomplete input\b.{0,40}(?:sqlite|SELECT|WHERE)",
                r#"|near \\?"[^"\\]{0,40}\\?": syntax error"#,
            )),
        ),
        (
            Store::Postgresql,
            re(concat!(
                r"psycopg2?\.(?:errors\.[A-Z][A-Za-z]+|OperationalError|ProgrammingError|DataError|InternalError|IntegrityError)",
                r"|unterminated quoted (?:string|identifier) at or near",
                r"|syntax error at or near \\?[\x22']",
                r"|invalid input syntax for (?:type|integer)",
                r"|PG::[A-Z][A-Za-z]+Error|org\.postgresql\.util\.PSQLException",
                r"|pq: (?:syntax error|unterminated)|ERROR:\s+syntax error at",
                r"|current transaction is aborted, commands ignored",
            )),
        ),
        (
            Store::Mysql,
            re(concat!(
                r"You have an error in your SQL syntax",
                r"|check the manual that (?:corresponds to|fits) your (?:MySQL|MariaDB)",
                r"|pymysql\.err\.[A-Z][A-Za-z]+|MySQLdb\.(?:_exceptions\.)?[A-Z][A-Za-z]+",
                r"|mysql\.connector\.errors\.[A-Z][A-Za-z]+|com\.mysql\.(?:cj\.)?jdbc",
                r"|ER_PARSE_ERROR|ER_BAD_FIELD_ERROR|SQLSTATE\[42000\].{0,80}MySQL",
                r"|Warning: mysqli?_",
            )),
        ),
        (
            Store::SqlServer,
            re(concat!(
                r"Unclosed quotation mark after the character string",
                r"|Incorrect syntax near '",
                r"|Microsoft OLE DB Provider for SQL Server|\[SQL Server\]",
                r"|System\.Data\.SqlClient\.SqlException|Microsoft\.Data\.SqlClient",
                r"|com\.microsoft\.sqlserver\.jdbc|SQLServerException",
            )),
        ),
        (
            Store::Oracle,
            re(r"\bORA-[0-9]{5}: |quoted string not properly terminated|oracle\.jdbc"),
        ),
        (
            Store::Sql,
            re(concat!(
                r"sqlalchemy\.exc\.[A-Z][A-Za-z]+|\(Background on this error at: https?://sqlalche\.me",
                r"|django\.db\.utils\.[A-Z][A-Za-z]+|SequelizeDatabaseError|org\.hibernate\.exception",
                r"|ActiveRecord::StatementInvalid|QueryFailedError|SQLSTATE\[[0-9A-Z]{5}\]",
                r"|java\.sql\.SQLSyntaxErrorException",
            )),
        ),
        (
            Store::DynamoDb,
            re(concat!(
                r"Invalid (?:FilterExpression|KeyConditionExpression|ConditionExpression|ProjectionExpression|UpdateExpression)",
                r"|ExpressionAttribute(?:Values|Names) (?:must not be empty|contains invalid)",
                r"|Value provided in ExpressionAttribute(?:Values|Names) unused in expressions",
                r"|An expression attribute (?:value|name) used in expression is not defined",
                r"|Attribute name is a reserved keyword",
                r"|Syntax error; token: ",
                r"|when calling the (?:Query|Scan|GetItem|PutItem|UpdateItem|DeleteItem|BatchGetItem) operation",
                r"|botocore\.exceptions\.(?:ClientError|ParamValidationError)",
            )),
        ),
        (
            Store::MongoDb,
            re(concat!(
                r"MongoServerError|MongoError|pymongo\.errors\.[A-Z][A-Za-z]+|mongomock\.[A-Za-z.]*Error",
                r"|unknown operator: \$|\$regex has to be a string|BadValue|CastError: Cast to",
                r"|OperationFailure",
            )),
        ),
    ]
});

static SQLALCHEMY: LazyLock<Regex> = LazyLock::new(|| re(r"sqlalchemy|sqlalche\.me"));

/// Every data-store error in `body`, the first of each store, in the
/// order they appear.
pub fn store_errors(body: &str) -> Vec<StoreError> {
    let mut found: Vec<StoreError> = FINGERPRINTS
        .iter()
        .filter_map(|(store, pattern)| {
            let m = pattern.find(body)?;
            let also = if SQLALCHEMY.is_match(body) && store.is_sql() {
                vec!["sqlalchemy"]
            } else {
                Vec::new()
            };
            Some(StoreError {
                store: *store,
                span: m.start()..m.end(),
                also,
            })
        })
        .collect();
    // A database named by its own message beats the ORM's wrapper.
    if found
        .iter()
        .any(|e| e.store.is_sql() && e.store != Store::Sql)
    {
        found.retain(|e| e.store != Store::Sql);
    }
    found.sort_by_key(|e| e.span.start);
    found
}

/// The errors of `probe` that `ordinary` does not show (same store).
pub fn new_errors(ordinary: &str, probe: &str) -> Vec<StoreError> {
    let before: Vec<Store> = store_errors(ordinary).iter().map(|e| e.store).collect();
    store_errors(probe)
        .into_iter()
        .filter(|e| !before.contains(&e.store))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stores(body: &str) -> Vec<Store> {
        store_errors(body).iter().map(|e| e.store).collect()
    }

    #[test]
    fn each_database_is_recognised_by_its_own_words() {
        let cases = [
            ("(sqlite3.OperationalError) unrecognized token: \"'\"\n[SQL: SELECT * FROM posts WHERE title = ''']\n(Background on this error at: https://sqlalche.me/e/20/e3q8)", Store::Sqlite),
            (r#"{"error": "near \"x\": syntax error"}"#, Store::Sqlite),
            ("psycopg.errors.SyntaxError: unterminated quoted string at or near \"'\"", Store::Postgresql),
            ("ERROR:  syntax error at or near \"AND\"", Store::Postgresql),
            ("(1064, \"You have an error in your SQL syntax; check the manual that corresponds to your MariaDB server version\")", Store::Mysql),
            ("Unclosed quotation mark after the character string ''.", Store::SqlServer),
            ("ORA-01756: quoted string not properly terminated", Store::Oracle),
            ("django.db.utils.ProgrammingError: column does not exist", Store::Sql),
            ("An error occurred (ValidationException) when calling the Scan operation: Invalid FilterExpression: Syntax error; token: \"(\"", Store::DynamoDb),
            ("Attribute name is a reserved keyword; reserved keyword: status", Store::DynamoDb),
            ("pymongo.errors.OperationFailure: unknown operator: $foo", Store::MongoDb),
        ];
        for (body, store) in cases {
            assert_eq!(stores(body), [store], "{body}");
        }
        let wrapped = store_errors(
            "sqlalchemy.exc.OperationalError: (sqlite3.OperationalError) near \"'\": syntax error",
        );
        assert_eq!(wrapped.len(), 1);
        assert_eq!(wrapped[0].store, Store::Sqlite);
        assert_eq!(wrapped[0].also, ["sqlalchemy"]);
    }

    #[test]
    fn ordinary_words_are_not_errors_and_old_errors_are_not_new() {
        for body in [
            r#"{"title": "How to fix a syntax error in SQL", "body": "use parameters"}"#,
            r#"{"error": "item not found"}"#,
            r#"{"query": "SELECT name FROM items", "status": "ok"}"#,
            "Invalid input: expected an integer",
        ] {
            assert!(store_errors(body).is_empty(), "{body}");
        }
        let error = "You have an error in your SQL syntax";
        assert!(new_errors(error, error).is_empty());
        assert_eq!(new_errors("{}", error).len(), 1);
    }
}
