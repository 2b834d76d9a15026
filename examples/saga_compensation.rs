//! # Saga: undo what was written when a later step fails
//!
//! ```text
//! cargo run --release --example saga_compensation
//! RUST_LOG=onex_runtime=info cargo run --release --example saga_compensation   # with logs
//! ```
//!
//! Placing an order touches three systems, and there is no transaction spanning them:
//! reserve stock, charge the payment, book the shipment. If shipping fails after the first
//! two succeeded, the customer must not stay charged for goods held back for nobody. The
//! saga pattern pairs every effect with a *compensation* that undoes it; when a step fails,
//! the compensations of the effects that completed run in reverse order.
//!
//! In onex an effect node declares its compensation with `compensate = undo_fn`, and a run
//! with `FailureStrategy::Compensate` runs them. Here every effect writes to a real SQLite
//! database (in a temporary directory), so you can see the rows appear and disappear.

use std::error::Error;
use std::path::Path;
use std::sync::{Mutex, MutexGuard};

use onex::prelude::*;
use rusqlite::{Connection, params};
use tracing_subscriber::EnvFilter;

// ---- the data ----

/// An order from the shop.
#[derive(Debug, Clone)]
pub struct Order {
    pub id: i64,
    pub sku: String,
    pub quantity: i64,
    pub amount_cents: i64,
    /// ISO country code of the delivery address.
    pub country: String,
}

/// Stock held for an order: what `release_inventory` needs to give it back.
#[derive(Debug, Clone)]
pub struct Reservation {
    pub id: i64,
    pub order_id: i64,
    pub sku: String,
    pub quantity: i64,
}

/// A payment taken: what `refund_payment` needs to undo it.
#[derive(Debug, Clone)]
pub struct Payment {
    pub id: i64,
    pub order_id: i64,
    pub amount_cents: i64,
}

/// A booked shipment: the workflow's output.
#[derive(Debug, Clone, PartialEq)]
pub struct Shipment {
    pub id: i64,
    pub order_id: i64,
    pub carrier: String,
}

// ---- the database ----

/// The shop's database. Registered on the runtime as a resource, so effect nodes fetch it
/// with `ctx.resource::<Store>()`. A `rusqlite::Connection` is `Send` but not `Sync`, so
/// it sits behind a mutex (a real service would use a pool such as r2d2).
pub struct Store {
    conn: Mutex<Connection>,
}

const SCHEMA: &str = "
    CREATE TABLE IF NOT EXISTS stock (
        sku       TEXT PRIMARY KEY,
        available INTEGER NOT NULL
    );
    CREATE TABLE IF NOT EXISTS reservations (
        id       INTEGER PRIMARY KEY,
        order_id INTEGER NOT NULL,
        sku      TEXT NOT NULL,
        quantity INTEGER NOT NULL
    );
    CREATE TABLE IF NOT EXISTS payments (
        id           INTEGER PRIMARY KEY,
        order_id     INTEGER NOT NULL,
        amount_cents INTEGER NOT NULL
    );
    CREATE TABLE IF NOT EXISTS shipments (
        id       INTEGER PRIMARY KEY,
        order_id INTEGER NOT NULL,
        carrier  TEXT NOT NULL
    );
    -- Every write and every undo, in the order they happened.
    CREATE TABLE IF NOT EXISTS journal (
        seq      INTEGER PRIMARY KEY AUTOINCREMENT,
        order_id INTEGER NOT NULL,
        action   TEXT NOT NULL
    );
";

impl Store {
    /// Opens (or creates) the database at `path` and its tables.
    pub fn open(path: &Path) -> rusqlite::Result<Self> {
        let conn = Connection::open(path)?;
        // Write-ahead logging: readers (like `Snapshot::read`) don't block the writer, and
        // a commit needs no fsync of the main file.
        conn.pragma_update_and_check(None, "journal_mode", "WAL", |_| Ok(()))?;
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        conn.execute_batch(SCHEMA)?;
        Ok(Store {
            conn: Mutex::new(conn),
        })
    }

    /// Puts `available` units of `sku` in stock.
    pub fn restock(&self, sku: &str, available: i64) -> Result<(), NodeError> {
        self.conn()
            .execute(
                "INSERT INTO stock (sku, available) VALUES (?1, ?2)
                 ON CONFLICT (sku) DO UPDATE SET available = excluded.available",
                params![sku, available],
            )
            .map_err(db_error)?;
        Ok(())
    }

    fn conn(&self) -> MutexGuard<'_, Connection> {
        // A poisoned lock means a node panicked mid-call; SQLite rolled back its open
        // transaction, so the connection is still usable.
        self.conn.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Turns a database error into a node error: a busy or locked database is worth retrying
/// (transient), anything else is not.
fn db_error(e: rusqlite::Error) -> NodeError {
    use rusqlite::ErrorCode as Sqlite;
    match e.sqlite_error_code() {
        Some(Sqlite::DatabaseBusy | Sqlite::DatabaseLocked) => NodeError::transient(e.to_string()),
        _ => NodeError::from_error(e),
    }
}

/// Appends to the journal inside the caller's transaction, so the journal never disagrees
/// with the tables.
fn journal(tx: &rusqlite::Transaction<'_>, order_id: i64, action: &str) -> Result<(), NodeError> {
    tx.execute(
        "INSERT INTO journal (order_id, action) VALUES (?1, ?2)",
        params![order_id, action],
    )
    .map_err(db_error)?;
    Ok(())
}

// ---- the nodes ----
//
// They are synchronous: SQLite calls block, and a sync effect node is run where blocking is
// fine (inline in a sequential run, on the rayon pool in parallel waves). Each does its
// writes in one SQLite transaction, so a step either wrote everything or nothing, and a
// compensation only ever has whole steps to undo.

/// EFFECT: takes the units off the shelf and records the reservation.
#[node(effect, name = "NodeInventoryEffect", compensate = release_inventory)]
pub fn reserve_inventory(ctx: &Context, order: &Order) -> Result<Reservation, NodeError> {
    let store = ctx.resource::<Store>()?;
    let mut conn = store.conn();
    let tx = conn.transaction().map_err(db_error)?;
    let taken = tx
        .execute(
            "UPDATE stock SET available = available - ?1 WHERE sku = ?2 AND available >= ?1",
            params![order.quantity, order.sku],
        )
        .map_err(db_error)?;
    if taken == 0 {
        return Err(
            NodeError::permanent(format!("not enough {} in stock", order.sku))
                .with_code(ErrorCode::InvalidInput),
        );
    }
    tx.execute(
        "INSERT INTO reservations (order_id, sku, quantity) VALUES (?1, ?2, ?3)",
        params![order.id, order.sku, order.quantity],
    )
    .map_err(db_error)?;
    let id = tx.last_insert_rowid();
    journal(&tx, order.id, "reserve")?;
    tx.commit().map_err(db_error)?;
    Ok(Reservation {
        id,
        order_id: order.id,
        sku: order.sku.clone(),
        quantity: order.quantity,
    })
}

/// COMPENSATION of `reserve_inventory`: deletes the reservation and puts the units back.
/// It receives the step's output, so it knows exactly what to undo.
pub fn release_inventory(ctx: &Context, reservation: &Reservation) -> Result<(), NodeError> {
    let store = ctx.resource::<Store>()?;
    let mut conn = store.conn();
    let tx = conn.transaction().map_err(db_error)?;
    tx.execute(
        "DELETE FROM reservations WHERE id = ?1",
        params![reservation.id],
    )
    .map_err(db_error)?;
    tx.execute(
        "UPDATE stock SET available = available + ?1 WHERE sku = ?2",
        params![reservation.quantity, reservation.sku],
    )
    .map_err(db_error)?;
    journal(&tx, reservation.order_id, "release")?;
    tx.commit().map_err(db_error)
}

/// EFFECT: charges the customer. It takes the reservation as an input only to run after
/// it: never charge for goods that could not be reserved.
#[node(effect, name = "NodePaymentEffect", compensate = refund_payment)]
pub fn charge_payment(
    ctx: &Context,
    order: &Order,
    _reserved: &Reservation,
) -> Result<Payment, NodeError> {
    let store = ctx.resource::<Store>()?;
    let mut conn = store.conn();
    let tx = conn.transaction().map_err(db_error)?;
    tx.execute(
        "INSERT INTO payments (order_id, amount_cents) VALUES (?1, ?2)",
        params![order.id, order.amount_cents],
    )
    .map_err(db_error)?;
    let id = tx.last_insert_rowid();
    journal(&tx, order.id, "charge")?;
    tx.commit().map_err(db_error)?;
    Ok(Payment {
        id,
        order_id: order.id,
        amount_cents: order.amount_cents,
    })
}

/// COMPENSATION of `charge_payment`: refunds by deleting the payment row.
pub fn refund_payment(ctx: &Context, payment: &Payment) -> Result<(), NodeError> {
    let store = ctx.resource::<Store>()?;
    let mut conn = store.conn();
    let tx = conn.transaction().map_err(db_error)?;
    tx.execute("DELETE FROM payments WHERE id = ?1", params![payment.id])
        .map_err(db_error)?;
    journal(&tx, payment.order_id, "refund")?;
    tx.commit().map_err(db_error)
}

/// EFFECT: books a courier. Couriers serve a few countries only; anywhere else is a
/// permanent failure (retrying would not help), which is what triggers the saga.
#[node(effect, name = "NodeShippingEffect")]
pub fn ship_order(ctx: &Context, order: &Order, _paid: &Payment) -> Result<Shipment, NodeError> {
    let carrier = match order.country.as_str() {
        "NL" | "BE" | "DE" => "PostNL",
        "FR" => "Colissimo",
        other => {
            return Err(NodeError::permanent(format!(
                "no courier delivers to `{other}`"
            )));
        }
    };
    let store = ctx.resource::<Store>()?;
    let mut conn = store.conn();
    let tx = conn.transaction().map_err(db_error)?;
    tx.execute(
        "INSERT INTO shipments (order_id, carrier) VALUES (?1, ?2)",
        params![order.id, carrier],
    )
    .map_err(db_error)?;
    let id = tx.last_insert_rowid();
    journal(&tx, order.id, "ship")?;
    tx.commit().map_err(db_error)?;
    Ok(Shipment {
        id,
        order_id: order.id,
        carrier: carrier.to_owned(),
    })
}

workflow! {
    /// Reserve, charge, ship — each effect undone in reverse if a later one fails.
    pub workflow PlaceOrder(order: Order) -> Shipment {
        reservation = reserve_inventory(order);
        payment = charge_payment(order, reservation);
        shipment = ship_order(order, payment);
        return shipment;
    }
}

// ---- the scenario ----

/// What the database holds, table by table.
#[derive(Debug, Clone, PartialEq)]
pub struct Snapshot {
    /// Units in stock per SKU.
    pub stock: Vec<(String, i64)>,
    /// `order_id` of each reservation, payment and shipment row.
    pub reservations: Vec<i64>,
    pub payments: Vec<i64>,
    pub shipments: Vec<i64>,
    /// `(order_id, action)` in the order the actions happened.
    pub journal: Vec<(i64, String)>,
}

impl Snapshot {
    /// Reads the database at `path` with a connection of its own.
    pub fn read(path: &Path) -> rusqlite::Result<Self> {
        let conn = Connection::open(path)?;
        let order_ids = |table: &str| -> rusqlite::Result<Vec<i64>> {
            conn.prepare(&format!("SELECT order_id FROM {table} ORDER BY id"))?
                .query_map([], |row| row.get(0))?
                .collect()
        };
        Ok(Snapshot {
            stock: conn
                .prepare("SELECT sku, available FROM stock ORDER BY sku")?
                .query_map([], |row| Ok((row.get(0)?, row.get(1)?)))?
                .collect::<rusqlite::Result<_>>()?,
            reservations: order_ids("reservations")?,
            payments: order_ids("payments")?,
            shipments: order_ids("shipments")?,
            journal: conn
                .prepare("SELECT order_id, action FROM journal ORDER BY seq")?
                .query_map([], |row| Ok((row.get(0)?, row.get(1)?)))?
                .collect::<rusqlite::Result<_>>()?,
        })
    }

    /// The units of `sku` in stock.
    pub fn available(&self, sku: &str) -> Option<i64> {
        self.stock.iter().find(|(s, _)| s == sku).map(|&(_, n)| n)
    }
}

/// What the demo did.
#[derive(Debug)]
pub struct SagaDemo {
    pub initial_stock: i64,
    /// The order that shipped.
    pub shipped: WorkflowRun<Shipment>,
    /// The order whose shipping failed, after its compensations ran.
    pub failed: WorkflowError,
    /// The database after both orders.
    pub after: Snapshot,
}

pub const SKU: &str = "KEYBOARD-MX";

/// Places two orders against a fresh database at `db`: one to a country a courier serves,
/// which ships; one to a country none serves, whose payment and reservation are undone.
pub async fn place_two_orders(db: &Path) -> Result<SagaDemo, Box<dyn Error>> {
    let store = Store::open(db)?;
    let initial_stock = 10;
    store.restock(SKU, initial_stock)?;
    let rt = Runtime::builder().resource(store).build();
    // Compensate: on a failure, undo the completed effects (in reverse), then fail the run.
    let opts = || RunOptions::new().failure_strategy(FailureStrategy::Compensate);

    let shipped = PlaceOrder::run(
        &rt,
        Order {
            id: 1001,
            sku: SKU.to_owned(),
            quantity: 2,
            amount_cents: 25_800,
            country: "NL".to_owned(),
        },
        opts(),
    )
    .await?;

    let failed = match PlaceOrder::run(
        &rt,
        Order {
            id: 1002,
            sku: SKU.to_owned(),
            quantity: 3,
            amount_cents: 38_700,
            country: "AQ".to_owned(),
        },
        opts(),
    )
    .await
    {
        Err(e) => e,
        Ok(run) => return Err(format!("order 1002 should not ship, got {:?}", run.output).into()),
    };

    Ok(SagaDemo {
        initial_stock,
        shipped,
        failed,
        after: Snapshot::read(db)?,
    })
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn Error>> {
    // Logs go to stderr, filtered by RUST_LOG (`onex_runtime=info` shows each compensation
    // as it runs); by default only errors are shown.
    tracing_subscriber::fmt()
        .with_env_filter(EnvFilter::from_default_env())
        .with_writer(std::io::stderr)
        .init();

    // The database lives in a temporary directory removed when `dir` is dropped.
    let dir = tempfile::tempdir()?;
    let db = dir.path().join("shop.sqlite3");
    let demo = place_two_orders(&db).await?;

    println!(
        "order 1001 → {:?}\n{}\n",
        demo.shipped.output, demo.shipped.report
    );
    println!("order 1002 → {}", demo.failed);
    if let Some(report) = demo.failed.report() {
        println!("{report}\n");
        println!("compensations, in the order they ran:");
        let mut undone: Vec<_> = report
            .steps
            .iter()
            .filter_map(|s| s.compensation.as_ref().map(|c| (c.started, &s.step, c)))
            .collect();
        undone.sort_by_key(|&(started, ..)| started);
        for (started, step, c) in undone {
            println!("  {step:<12} {:?}, started at {started:.2?}", c.state);
        }
    }

    let after = &demo.after;
    println!("\nthe database afterwards ({}):", db.display());
    println!(
        "  stock of {SKU}: {} (started with {}, order 1001 took 2)",
        after.available(SKU).unwrap_or(0),
        demo.initial_stock
    );
    println!("  reservations for orders {:?}", after.reservations);
    println!("  payments for orders     {:?}", after.payments);
    println!("  shipments for orders    {:?}", after.shipments);
    println!("  journal:");
    for (order, action) in &after.journal {
        println!("    {order}  {action}");
    }
    Ok(())
}
