//! A failure becomes a log line, a multi-line report and an RFC 9457 answer.
//!
//! Run with `cargo run -p pr-errors --features serde --example report`
//! (add `RUST_BACKTRACE=1` to see the backtrace in the multi-line form).

#![expect(clippy::print_stdout, reason = "an example shows its output")]

use pr_errors::{CodeInfo, CodedError, Report, ResultExt};

pr_errors::codes! {
    /// Every code of the example's inventory service.
    pub static CODES;

    /// The warehouse service did not answer in time.
    pub WAREHOUSE_TIMEOUT = "inventory.warehouse_timeout", GATEWAY_TIMEOUT, transient;
    /// Not enough stock for the order.
    pub OUT_OF_STOCK = "inventory.out_of_stock", CONFLICT, permanent, public;
}

/// The example's error type.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum InventoryError {
    /// The warehouse timed out.
    #[error("warehouse {host} did not answer")]
    WarehouseTimeout {
        /// Which warehouse host (internal: never shown to clients).
        host: String,
        /// The transport error.
        #[source]
        source: std::io::Error,
    },
    /// Not enough stock.
    #[error("only {available} of item {item} left")]
    OutOfStock {
        /// The item.
        item: u32,
        /// How many are left.
        available: u32,
    },
}

impl CodedError for InventoryError {
    fn info(&self) -> &'static CodeInfo {
        match self {
            Self::WarehouseTimeout { .. } => &WAREHOUSE_TIMEOUT,
            Self::OutOfStock { .. } => &OUT_OF_STOCK,
        }
    }
}

fn reserve(item: u32) -> Result<(), InventoryError> {
    if item.is_multiple_of(2) {
        Err(InventoryError::OutOfStock { item, available: 0 })
    } else {
        let source = std::io::Error::new(std::io::ErrorKind::TimedOut, "no reply after 2s");
        Err(InventoryError::WarehouseTimeout {
            host: "wh-3.internal:7000".into(),
            source,
        })
    }
}

fn main() {
    for item in [7, 8] {
        let Err(err) = reserve(item).with_context(|| format!("reserving item {item}")) else {
            continue;
        };
        let report = Report::new(err);
        println!(
            "log line:   code={} retry={} {}",
            report.code(),
            report.retry().class(),
            report
        );
        println!("for people: {report:#}");
        println!(
            "for client: {} {}\n",
            report.status(),
            report.to_problem().to_json()
        );
    }
}
