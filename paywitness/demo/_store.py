"""SQLite stores: commerce's catalog and orders, the gateway's charges (one file each)."""

from __future__ import annotations

import json
import secrets
import sqlite3
import string
import threading
import time
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

__all__ = ["MERCHANTS", "ChargeStore", "OrderStore", "new_id"]

_ALPHABET = string.ascii_uppercase + string.digits

MERCHANTS: dict[str, str] = {
    "m-batik": "Batik Sekar Jagad",
    "m-kopi": "Kopi Nusantara Roastery",
    "m-gadget": "Gadget Murah Jaya",
    "m-rumah": "Rumah Rapi Living",
}

# sku, name, price (IDR), stock, merchant, colour (thumbnail), description
_PRODUCTS: Sequence[tuple[str, str, int, int, str, str, str]] = (
    (
        "BTK-001",
        "Kemeja Batik Parang Slim Fit",
        189_000,
        40,
        "m-batik",
        "#8c4a2f",
        "Katun primisima, motif parang klasik, cocok untuk kantor dan kondangan.",
    ),
    (
        "BTK-002",
        "Dress Batik Mega Mendung",
        245_000,
        25,
        "m-batik",
        "#1f4e79",
        "Dress midi dengan motif mega mendung Cirebon, bahan adem.",
    ),
    (
        "BTK-003",
        "Kain Batik Tulis Lasem 2m",
        560_000,
        8,
        "m-batik",
        "#a0342b",
        "Batik tulis asli Lasem, pewarna alami, panjang dua meter.",
    ),
    (
        "KOP-001",
        "Kopi Arabika Gayo 250g",
        98_000,
        120,
        "m-kopi",
        "#5b3a29",
        "Biji sangrai medium, catatan rasa cokelat dan jeruk.",
    ),
    (
        "KOP-002",
        "Kopi Toraja Kalosi 500g",
        172_000,
        60,
        "m-kopi",
        "#3e2a1f",
        "Full body, rendah asam, disangrai setiap minggu.",
    ),
    (
        "KOP-003",
        "V60 Dripper Set Keramik",
        215_000,
        30,
        "m-kopi",
        "#c9a227",
        "Dripper keramik, server kaca 600 ml dan 40 kertas filter.",
    ),
    (
        "GDG-001",
        "TWS Earbuds Bass Pro",
        279_000,
        75,
        "m-gadget",
        "#222831",
        "Bluetooth 5.3, ANC, baterai 30 jam dengan case.",
    ),
    (
        "GDG-002",
        "Powerbank 20000mAh 22.5W",
        199_000,
        90,
        "m-gadget",
        "#00adb5",
        "Fast charging PD, dua port USB-C, indikator digital.",
    ),
    (
        "GDG-003",
        "Smartwatch Fit 3 AMOLED",
        649_000,
        20,
        "m-gadget",
        "#393e46",
        "Layar AMOLED 1.8 inci, GPS, tahan air 5 ATM.",
    ),
    (
        "RMH-001",
        "Rak Dinding Kayu Jati Mini",
        129_000,
        45,
        "m-rumah",
        "#8d6e63",
        "Rak minimalis kayu jati Jepara, termasuk sekrup.",
    ),
    (
        "RMH-002",
        "Diffuser Aromaterapi 300ml",
        159_000,
        55,
        "m-rumah",
        "#6d8b74",
        "Ultrasonik, lampu tujuh warna, mati otomatis.",
    ),
    (
        "RMH-003",
        "Set Sprei Katun Jepang Queen",
        329_000,
        18,
        "m-rumah",
        "#b5838d",
        "Katun Jepang 100%, satu sprei dan dua sarung bantal.",
    ),
)


def new_id(prefix: str, length: int = 10) -> str:
    """A random id like ``ORD-7F3K9Q2M1A``."""
    return prefix + "".join(secrets.choice(_ALPHABET) for _ in range(length))


class _Db:
    """One SQLite file, used from the server loop and from test threads under a lock."""

    def __init__(self, path: Path, schema: str) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._conn.row_factory = sqlite3.Row
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.executescript(schema)

    def query(self, sql: str, params: Iterable[Any] = ()) -> list[dict[str, Any]]:
        with self._lock:
            return [dict(r) for r in self._conn.execute(sql, tuple(params)).fetchall()]

    def execute(self, sql: str, params: Iterable[Any] = ()) -> int:
        with self._lock:
            return self._conn.execute(sql, tuple(params)).rowcount

    def transaction(self, statements: Sequence[tuple[str, Iterable[Any]]]) -> None:
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                for sql, params in statements:
                    self._conn.execute(sql, tuple(params))
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")

    def close(self) -> None:
        with self._lock:
            self._conn.close()


_ORDER_SCHEMA = """
CREATE TABLE IF NOT EXISTS products (
    sku TEXT PRIMARY KEY, name TEXT NOT NULL, price INTEGER NOT NULL, stock INTEGER NOT NULL,
    merchant_id TEXT NOT NULL, merchant_name TEXT NOT NULL, colour TEXT NOT NULL,
    description TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS orders (
    order_id TEXT PRIMARY KEY, created REAL NOT NULL, updated REAL NOT NULL, status TEXT NOT NULL,
    amount INTEGER NOT NULL, currency TEXT NOT NULL, buyer_name TEXT NOT NULL,
    buyer_email TEXT NOT NULL, buyer_phone TEXT NOT NULL, buyer_address TEXT NOT NULL,
    idempotency_key TEXT NOT NULL, method TEXT, charge_id TEXT, paid_at REAL,
    failure TEXT, merchant_of_record TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS order_items (
    order_id TEXT NOT NULL, sku TEXT NOT NULL, name TEXT NOT NULL, price INTEGER NOT NULL,
    qty INTEGER NOT NULL, merchant_name TEXT NOT NULL
);
"""


class OrderStore(_Db):
    """Commerce's catalog and orders (pre-migration, social ran the same back end)."""

    def __init__(self, path: Path) -> None:
        super().__init__(path, _ORDER_SCHEMA)
        if not self.query("SELECT sku FROM products LIMIT 1"):
            self.transaction(
                [
                    (
                        "INSERT INTO products VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                        (sku, name, price, stock, m, MERCHANTS[m], colour, desc),
                    )
                    for sku, name, price, stock, m, colour, desc in _PRODUCTS
                ]
            )

    def restock(self) -> None:
        """Every product back to its starting stock (orders stay)."""
        self.transaction(
            [("UPDATE products SET stock = ? WHERE sku = ?", (p[3], p[0])) for p in _PRODUCTS]
        )

    def products(self, merchant_id: str | None = None) -> list[dict[str, Any]]:
        if merchant_id:
            return self.query(
                "SELECT * FROM products WHERE merchant_id = ? ORDER BY sku", (merchant_id,)
            )
        return self.query("SELECT * FROM products ORDER BY rowid")

    def product(self, sku: str) -> dict[str, Any] | None:
        rows = self.query("SELECT * FROM products WHERE sku = ?", (sku,))
        return rows[0] if rows else None

    def create_order(
        self,
        items: list[tuple[dict[str, Any], int]],
        buyer: dict[str, str],
        merchant_of_record: str,
    ) -> dict[str, Any]:
        order_id = new_id("ORD-")
        now = time.time()
        amount = sum(p["price"] * qty for p, qty in items)
        key = new_id("idem_", 24).lower()
        statements: list[tuple[str, Iterable[Any]]] = [
            (
                "INSERT INTO orders (order_id, created, updated, status, amount, currency,"
                " buyer_name, buyer_email, buyer_phone, buyer_address, idempotency_key,"
                " merchant_of_record) VALUES (?, ?, ?, 'created', ?, 'IDR', ?, ?, ?, ?, ?, ?)",
                (
                    order_id,
                    now,
                    now,
                    amount,
                    buyer["name"],
                    buyer["email"],
                    buyer["phone"],
                    buyer["address"],
                    key,
                    merchant_of_record,
                ),
            )
        ]
        statements += [
            (
                "INSERT INTO order_items VALUES (?, ?, ?, ?, ?, ?)",
                (order_id, p["sku"], p["name"], p["price"], qty, p["merchant_name"]),
            )
            for p, qty in items
        ]
        self.transaction(statements)
        order = self.order(order_id)
        assert order is not None
        return order

    def order(self, order_id: str) -> dict[str, Any] | None:
        rows = self.query("SELECT * FROM orders WHERE order_id = ?", (order_id,))
        if not rows:
            return None
        order = rows[0]
        order["items"] = self.query(
            "SELECT sku, name, price, qty, merchant_name FROM order_items WHERE order_id = ?"
            " ORDER BY rowid",
            (order_id,),
        )
        return order

    def mark_pending(self, order_id: str, method: str, charge_id: str) -> None:
        self.execute(
            "UPDATE orders SET status = 'pending', method = ?, charge_id = ?, updated = ?"
            " WHERE order_id = ? AND status != 'paid'",
            (method, charge_id, time.time(), order_id),
        )

    def mark_failed(self, order_id: str, method: str, charge_id: str, failure: str) -> None:
        self.execute(
            "UPDATE orders SET status = 'payment_failed', method = ?, charge_id = ?, failure = ?,"
            " updated = ? WHERE order_id = ? AND status != 'paid'",
            (method, charge_id, failure, time.time(), order_id),
        )

    def mark_paid(self, order_id: str, method: str, charge_id: str) -> bool:
        """Mark paid and take the stock, once; False if it already was paid."""
        order = self.order(order_id)
        if order is None or order["status"] == "paid":
            return False
        now = time.time()
        statements: list[tuple[str, Iterable[Any]]] = [
            (
                "UPDATE orders SET status = 'paid', method = ?, charge_id = ?, paid_at = ?,"
                " failure = NULL, updated = ? WHERE order_id = ?",
                (method, charge_id, now, now, order_id),
            )
        ]
        statements += [
            ("UPDATE products SET stock = MAX(stock - ?, 0) WHERE sku = ?", (i["qty"], i["sku"]))
            for i in order["items"]
        ]
        self.transaction(statements)
        return True

    def statuses(self, order_ids: Iterable[str]) -> list[dict[str, Any]]:
        """What the storefront may know of orders: no buyer data."""
        out = []
        for order_id in order_ids:
            order = self.order(order_id)
            if order is None:
                continue
            out.append(
                {
                    "order_id": order_id,
                    "status": order["status"],
                    "amount": order["amount"],
                    "currency": order["currency"],
                    "created": order["created"],
                    "items": [
                        {"sku": i["sku"], "name": i["name"], "qty": i["qty"]}
                        for i in order["items"]
                    ],
                }
            )
        return out


_CHARGE_SCHEMA = """
CREATE TABLE IF NOT EXISTS charges (
    id TEXT PRIMARY KEY, created REAL NOT NULL, updated REAL NOT NULL, account TEXT NOT NULL,
    order_id TEXT NOT NULL, amount INTEGER NOT NULL, currency TEXT NOT NULL, method TEXT NOT NULL,
    status TEXT NOT NULL, failure_message TEXT, card_brand TEXT, card_bin TEXT, card_last4 TEXT,
    bank TEXT, va_number TEXT, provider TEXT, idempotency_key TEXT, notify TEXT
);
CREATE TABLE IF NOT EXISTS idempotency (
    key TEXT PRIMARY KEY, fingerprint TEXT NOT NULL, status INTEGER NOT NULL, body TEXT NOT NULL
);
"""


class ChargeStore(_Db):
    """The gateway's own record of charges (never a full card number: last 4 and BIN only)."""

    def __init__(self, path: Path) -> None:
        super().__init__(path, _CHARGE_SCHEMA)

    def insert(self, charge: dict[str, Any]) -> None:
        cols = ", ".join(charge)
        marks = ", ".join("?" for _ in charge)
        self.execute(f"INSERT INTO charges ({cols}) VALUES ({marks})", charge.values())

    def get(self, charge_id: str) -> dict[str, Any] | None:
        rows = self.query("SELECT * FROM charges WHERE id = ?", (charge_id,))
        return rows[0] if rows else None

    def by_va(self, va_number: str) -> dict[str, Any] | None:
        rows = self.query("SELECT * FROM charges WHERE va_number = ?", (va_number,))
        return rows[0] if rows else None

    def for_order(self, order_id: str) -> list[dict[str, Any]]:
        return self.query("SELECT * FROM charges WHERE order_id = ? ORDER BY created", (order_id,))

    def set_status(self, charge_id: str, status: str, failure: str | None = None) -> None:
        self.execute(
            "UPDATE charges SET status = ?, failure_message = ?, updated = ? WHERE id = ?",
            (status, failure, time.time(), charge_id),
        )

    def remembered(self, key: str) -> tuple[str, int, Any] | None:
        rows = self.query("SELECT * FROM idempotency WHERE key = ?", (key,))
        if not rows:
            return None
        return rows[0]["fingerprint"], rows[0]["status"], json.loads(rows[0]["body"])

    def remember(self, key: str, fingerprint: str, status: int, body: Any) -> None:
        self.execute(
            "INSERT OR IGNORE INTO idempotency VALUES (?, ?, ?, ?)",
            (key, fingerprint, status, json.dumps(body)),
        )
