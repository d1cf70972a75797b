"""The demo shop's servers, gateway rules and violation switches, over plain HTTPS."""

from __future__ import annotations

import json
import re
import socket
import ssl
from collections.abc import Callable
from http.client import HTTPConnection
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
import yaml
from cryptography import x509
from cryptography.x509.oid import NameOID

from paywitness.categories import CATEGORIES
from paywitness.demo import CATALOG, COMPANY_HOSTS, DemoShop, get_violation
from paywitness.demo._gateway import BIN_BEHAVIOUR, EWALLET_PROVIDERS, OTP, VA_BANKS, luhn_valid
from paywitness.errors import ConfigError

if TYPE_CHECKING:  # the `call` fixture's types; tests never import fixtures at run time
    from conftest import Answer, Call

ROOT = Path(__file__).resolve().parents[2]
BUYER = {"name": "Budi Santoso", "email": "budi@example.id", "phone": "0812", "address": "Jl. A 1"}


def page_config(answer: Answer) -> dict[str, Any]:
    """The `const PW = {...};` configuration a demo page carries."""
    match = re.search(r"const PW = (\{.*?\});\n", answer.body.decode())
    assert match, "page has no PW config"
    config: dict[str, Any] = json.loads(match.group(1))
    return config


def create_order(call: Call, api: str = "api.commerce.test", sku: str = "KOP-001") -> Any:
    answer = call(
        "POST", f"https://{api}/api/orders", {"items": [{"sku": sku, "qty": 1}], "buyer": BUYER}
    )
    assert answer.status == 201, answer.body
    return answer.json()


def card_charge(call: Call, order: Any, number: str, account: str = "commerce") -> Answer:
    return call(
        "POST",
        "https://pay.gateway.test/v1/charges",
        {
            "method": "card",
            "account": account,
            "order_id": order["order_id"],
            "amount": order["amount"],
            "currency": "IDR",
            "card": {"number": number, "expiry": "12/34", "cvc": "123"},
        },
        {"Idempotency-Key": order["idempotency_key"]},
    )


def paid_by_card(call: Call, number: str, pay_host: str = "api.commerce.test") -> Any:
    order = create_order(call)
    charge = card_charge(call, order, number).json()
    answer = call(
        "POST",
        f"https://{pay_host}/api/orders/{order['order_id']}/pay",
        {"method": "card", "charge_id": charge["id"]},
    )
    assert answer.status == 200, answer.body
    return answer.json()


# --- lifecycle -----------------------------------------------------------------------------


def test_start_binds_loopback_ports_and_stop_frees_them(tmp_path: Path) -> None:
    shop = DemoShop(data_dir=tmp_path)
    shop.start()
    ports = dict(shop.companies)
    assert set(ports) == {"social", "commerce", "gateway"}
    assert len(set(ports.values())) == 3
    assert set(shop.host_map) == {h for hosts in COMPANY_HOSTS.values() for h in hosts}
    assert shop.host_map["pay.gateway.test"] == f"https://127.0.0.1:{ports['gateway']}"
    assert (tmp_path / "commerce.sqlite3").exists()
    shop.stop()
    shop.stop()  # idempotent
    assert shop.host_map == {}
    for port in ports.values():
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            s.bind(("127.0.0.1", port))  # would raise EADDRINUSE if still held
        with pytest.raises(ConnectionRefusedError):
            socket.create_connection(("127.0.0.1", port), timeout=2).close()
    shop.start()  # a stopped shop starts again, on new ports, with its data kept
    assert len(shop.companies) == 3
    shop.stop()


def test_context_manager_and_temp_data_dir_cleanup() -> None:
    with DemoShop(tls=False) as shop:
        assert shop.ca_cert_path is None
        assert all(u.startswith("http://127.0.0.1:") for u in shop.host_map.values())
        port = shop.companies["commerce"]
        with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
            s.sendall(b"GET /api/products HTTP/1.1\r\nHost: api.commerce.test\r\n\r\n")
            assert s.recv(64).startswith(b"HTTP/1.1 200")
        tmp_dirs = [p for p in Path(shop._tmp_dir or "/nonexistent").parent.glob("*")]
        assert shop._tmp_dir is not None
        assert shop._tmp_dir in tmp_dirs
        data_dir = shop._tmp_dir
    assert not data_dir.exists()


def test_unwritable_data_dir_is_a_config_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(ConfigError, match="data_dir"):
        DemoShop(data_dir=blocker / "sub").start()


def test_each_company_has_its_own_certificate_from_the_demo_ca(demo_shop: DemoShop) -> None:
    assert demo_shop.ca_cert_path is not None
    ctx = ssl.create_default_context(cafile=str(demo_shop.ca_cert_path))
    for company, organisation in [
        ("social", "Social Demo Co"),
        ("commerce", "Commerce Demo Co"),
        ("gateway", "Gateway Demo Co"),
    ]:
        for host in COMPANY_HOSTS[company]:
            raw = socket.create_connection(("127.0.0.1", demo_shop.companies[company]), 5)
            with ctx.wrap_socket(raw, server_hostname=host) as tls:  # verifies chain and SAN
                der = tls.getpeercert(binary_form=True)
            assert der is not None
            cert = x509.load_der_x509_certificate(der)
            org = cert.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)[0].value
            assert org == organisation
            sans = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName)
            assert set(sans.value.get_values_for_type(x509.DNSName)) == set(COMPANY_HOSTS[company])


def test_unknown_host_is_404_and_logged(shop: DemoShop, call: Call) -> None:
    port = shop.companies["social"]
    assert shop.ca_cert_path is not None
    ctx = ssl.create_default_context(cafile=str(shop.ca_cert_path))
    ctx.check_hostname = False
    with ctx.wrap_socket(socket.create_connection(("127.0.0.1", port), 5)) as s:
        s.sendall(b"GET / HTTP/1.1\r\nHost: evil.example\r\nConnection: close\r\n\r\n")
        assert s.recv(64).startswith(b"HTTP/1.1 404")
    assert shop.access_log()[-1].host == "evil.example"
    assert shop.access_log()[-1].status == 404


def test_access_log_reset_and_via(shop: DemoShop, call: Call) -> None:
    call("GET", "https://api.commerce.test/api/products")
    call(
        "GET", "https://api.commerce.test/api/products", headers={"X-Paywitness-Demo-Backend": "1"}
    )
    log = shop.access_log()
    assert [(e.company, e.host, e.method, e.path, e.status, e.via) for e in log] == [
        ("commerce", "api.commerce.test", "GET", "/api/products", 200, "browser"),
        ("commerce", "api.commerce.test", "GET", "/api/products", 200, "backend"),
    ]
    assert log[0].ts <= log[1].ts
    shop.reset()
    assert shop.access_log() == []


def test_cors_preflight_echoes_a_demo_origin_only(call: Call) -> None:
    preflight = {
        "Origin": "https://checkout.commerce.test",
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "content-type",
    }
    ok = call("OPTIONS", "https://api.commerce.test/api/orders", headers=preflight)
    assert ok.status == 204
    assert ok.headers["Access-Control-Allow-Origin"] == "https://checkout.commerce.test"
    assert ok.headers["Access-Control-Allow-Credentials"] == "true"
    assert "content-type" in ok.headers["Access-Control-Allow-Headers"]
    bad = call(
        "OPTIONS",
        "https://api.commerce.test/api/orders",
        headers={**preflight, "Origin": "https://x.y"},
    )
    assert bad.status == 403
    assert "Access-Control-Allow-Origin" not in bad.headers


def test_catalog_api_lists_several_merchants(call: Call) -> None:
    products = call("GET", "https://api.commerce.test/api/products").json()["products"]
    assert len({p["merchant"]["id"] for p in products}) >= 3
    first = products[0]
    assert set(first) >= {"sku", "name", "price", "stock", "merchant", "thumbnail"}
    assert isinstance(first["price"], int)
    assert first["thumbnail"].startswith("https://api.commerce.test/")
    thumb = call("GET", first["thumbnail"])
    assert thumb.status == 200
    assert thumb.headers["Content-Type"].startswith("image/svg+xml")


# --- gateway ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("number", "valid"),
    [
        ("4242424242424242", True),
        ("4000020000000000", True),
        ("4000020000000001", False),
        ("79927398713", False),  # too short for a card
        ("4111111111111111", True),
        ("4111111111111112", False),
        ("42424242424242a2", False),
    ],
)
def test_luhn(number: str, valid: bool) -> None:
    assert luhn_valid(number) is valid


def test_gateway_refuses_a_bad_card_number_with_a_clear_400(shop: DemoShop, call: Call) -> None:
    order = create_order(call)
    answer = card_charge(call, order, "4242424242424241")
    assert answer.status == 400
    assert answer.json()["error"]["code"] == "invalid_number"
    assert "not valid" in answer.json()["error"]["message"]
    assert shop.charges_for(order["order_id"]) == []


def test_repeated_idempotency_key_replays_the_first_outcome(
    shop: DemoShop, call: Call, make_card: Callable[[str], str]
) -> None:
    order = create_order(call)
    number = make_card("424242")
    first = card_charge(call, order, number)
    again = card_charge(call, order, number)
    assert first.status == again.status == 200
    assert again.json() == first.json()
    assert again.headers.get("Idempotent-Replayed") == "true"
    assert len(shop.charges_for(order["order_id"])) == 1
    other = card_charge(call, order, make_card("424242"))
    assert other.status == 409
    assert other.json()["error"]["code"] == "idempotency_key_reused"


def test_charges_record_no_card_number(
    shop: DemoShop, call: Call, make_card: Callable[[str], str]
) -> None:
    number = make_card("424242")
    paid = paid_by_card(call, number)
    (charge,) = shop.charges_for(paid["order_id"])
    assert (charge["card_bin"], charge["card_last4"]) == (number[:6], number[-4:])
    assert number not in json.dumps(charge)
    assert [e.company for e in shop.requests_containing(number)] == ["gateway"]


def test_gateway_conventions_match_fixtures_instruments() -> None:
    instruments = yaml.safe_load((ROOT / "fixtures" / "instruments.yaml").read_text())
    cards = instruments["cards"]
    assert {c["bin"]: c["behaviour"] for c in cards.values()} == BIN_BEHAVIOUR
    assert cards["threeds"]["otp"] == OTP
    assert set(instruments["virtual_account"]["banks"]) == set(VA_BANKS)
    assert set(instruments["ewallet"]["providers"]) == set(EWALLET_PROVIDERS)


def test_declined_card_marks_the_order_failed_not_paid(
    shop: DemoShop, call: Call, make_card: Callable[[str], str]
) -> None:
    order = create_order(call)
    charge = card_charge(call, order, make_card("400002")).json()
    assert charge["status"] == "declined"
    answer = call(
        "POST",
        f"https://api.commerce.test/api/orders/{order['order_id']}/pay",
        {"method": "card", "charge_id": charge["id"]},
    )
    assert answer.status == 402
    assert "declined" in answer.json()["error"]
    row = shop.order(order["order_id"])
    assert row is not None
    assert row["status"] == "payment_failed"
    assert row["paid_at"] is None


def test_three_ds_needs_the_right_otp(
    shop: DemoShop, call: Call, make_card: Callable[[str], str]
) -> None:
    order = create_order(call)
    charge = card_charge(call, order, make_card("400003")).json()
    assert charge["status"] == "requires_action"
    assert charge["next_action"]["url"] == f"https://pay.gateway.test/3ds/{charge['id']}"
    pay_url = f"https://api.commerce.test/api/orders/{order['order_id']}/pay"
    early = call("POST", pay_url, {"method": "card", "charge_id": charge["id"]})
    assert early.status == 409
    otp = call("POST", f"https://pay.gateway.test/v1/charges/{charge['id']}/3ds", {"otp": OTP})
    assert otp.json()["status"] == "succeeded"
    assert call("POST", pay_url, {"method": "card", "charge_id": charge["id"]}).status == 200
    row = shop.order(order["order_id"])
    assert row is not None
    assert row["status"] == "paid"


def test_three_ds_wrong_otp_fails(call: Call, make_card: Callable[[str], str]) -> None:
    order = create_order(call)
    charge = card_charge(call, order, make_card("400003")).json()
    otp = call("POST", f"https://pay.gateway.test/v1/charges/{charge['id']}/3ds", {"otp": "000000"})
    assert otp.json()["status"] == "failed"


def test_commerce_refuses_a_charge_for_another_order(
    call: Call, make_card: Callable[[str], str]
) -> None:
    first, second = create_order(call), create_order(call)
    charge = card_charge(call, first, make_card("424242")).json()
    answer = call(
        "POST",
        f"https://api.commerce.test/api/orders/{second['order_id']}/pay",
        {"method": "card", "charge_id": charge["id"]},
    )
    assert answer.status == 402
    assert "another order" in answer.json()["error"]


def test_virtual_account_is_paid_through_the_simulator_and_webhook(
    shop: DemoShop, call: Call
) -> None:
    order = create_order(call)
    pay_url = f"https://api.commerce.test/api/orders/{order['order_id']}/pay"
    pending = call("POST", pay_url, {"method": "va", "bank": "bni"})
    assert pending.status == 202
    va = pending.json()["va"]
    assert va["bank"] == "bni"
    assert va["number"].startswith(VA_BANKS["bni"])
    assert len(va["number"]) == 16
    status_url = f"https://api.commerce.test/api/orders/status?ids={order['order_id']}"
    assert call("GET", status_url).json()["orders"][0]["status"] == "pending"
    page = call("GET", va["simulator_url"])
    assert page.status == 200
    assert va["number"] in page.body.decode()
    done = call("POST", "https://pay.gateway.test/va/simulator/pay", {"va": va["number"]})
    assert done.json()["status"] == "succeeded"
    status = call("GET", status_url).json()["orders"][0]
    assert status["status"] == "paid"
    assert status["invoice_url"] == f"https://invoice.commerce.test/invoices/{order['order_id']}"
    assert "buyer_email" not in json.dumps(status)
    assert BUYER["email"] not in json.dumps(status)
    backend = [(e.company, e.path) for e in shop.access_log() if e.via == "backend"]
    assert ("commerce", "/api/webhooks/gateway") in backend
    assert ("gateway", "/v1/charges") in backend


def test_ewallet_is_paid_on_its_approve_page(shop: DemoShop, call: Call) -> None:
    order = create_order(call)
    pay_url = f"https://api.commerce.test/api/orders/{order['order_id']}/pay"
    pending = call("POST", pay_url, {"method": "ewallet", "provider": "ovo"}).json()
    wallet = pending["ewallet"]
    charge_id = wallet["approve_url"].rsplit("/", 1)[1]
    assert call("GET", wallet["approve_url"]).status == 200
    assert call("GET", wallet["qr_url"]).headers["Content-Type"].startswith("image/svg+xml")
    approved = call("POST", f"https://pay.gateway.test/ewallet/{charge_id}/approve", {})
    assert approved.json()["status"] == "succeeded"
    row = shop.order(order["order_id"])
    assert row is not None
    assert row["status"] == "paid"
    assert row["method"] == "ewallet"


def test_invoice_html_and_pdf(call: Call, make_card: Callable[[str], str]) -> None:
    paid = paid_by_card(call, make_card("424242"))
    html = call("GET", paid["invoice_url"])
    assert html.status == 200
    assert paid["order_id"] in html.body.decode()
    pdf = call("GET", paid["invoice_url"] + ".pdf")
    assert pdf.headers["Content-Type"] == "application/pdf"
    assert pdf.body.startswith(b"%PDF-1.4")
    assert pdf.body.rstrip().endswith(b"%%EOF")
    assert paid["order_id"].encode() in pdf.body
    xref = int(pdf.body.rsplit(b"startxref", 1)[1].split()[0])
    assert pdf.body[xref : xref + 4] == b"xref"


# --- violations and baseline -------------------------------------------------------------------


def test_catalog_entries_are_complete() -> None:
    assert {"payment-on-social", "invoice-on-social"} <= set(CATALOG)
    for name, violation in CATALOG.items():
        assert violation.name == name
        assert violation.category in CATEGORIES
        assert violation.description
        assert "\n" not in violation.description
    assert get_violation("invoice-on-social").category == "payment"


def test_unknown_violation_is_a_config_error_listing_valid_names(shop: DemoShop) -> None:
    with pytest.raises(ConfigError, match="payment-on-social") as info:
        get_violation("pay-on-tiktok")
    assert "pay-on-tiktok" in str(info.value)
    with pytest.raises(ConfigError, match="invoice-on-social"):
        DemoShop(violations=["nope"])
    with pytest.raises(ConfigError):
        shop.configure(violations=["nope"])
    with pytest.raises(ConfigError, match="list"):
        shop.configure(violations="payment-on-social")
    assert shop.violations == frozenset()


def compliant_surface(call: Call, make_card: Callable[[str], str]) -> dict[str, Any]:
    """What each violation may change: where checkout posts the pay call, where invoices live."""
    storefront = page_config(call("GET", "https://shop.social.test/"))
    checkout = page_config(call("GET", "https://checkout.commerce.test/checkout?sku=KOP-001"))
    paid = paid_by_card(call, make_card("424242"))
    order_id = paid["order_id"]
    return {
        "checkout_url": storefront["checkoutUrl"],
        "orders_url": checkout["ordersUrl"],
        "pay_base": checkout["payBase"],
        "invoice_host": paid["invoice_url"].split("/")[2],
        "social_pay": call(
            "POST", f"https://api.social.test/api/orders/{order_id}/pay", {"method": "card"}
        ).status,
        "social_invoice": call("GET", f"https://shop.social.test/invoices/{order_id}").status,
        "social_checkout": call("GET", "https://shop.social.test/checkout?sku=KOP-001").status,
    }


COMPLIANT = {
    "checkout_url": "https://checkout.commerce.test/checkout",
    "orders_url": "https://api.commerce.test/api/orders",
    "pay_base": "https://api.commerce.test/api/orders/",
    "invoice_host": "invoice.commerce.test",
    "social_pay": 404,
    "social_invoice": 404,
    "social_checkout": 404,
}


def test_compliant_shop_keeps_payment_and_invoices_off_social(
    shop: DemoShop, call: Call, make_card: Callable[[str], str]
) -> None:
    assert compliant_surface(call, make_card) == COMPLIANT


@pytest.mark.parametrize(
    ("violation", "changed"),
    [
        (
            "payment-on-social",
            {"pay_base": "https://api.social.test/api/orders/", "social_pay": 200},
        ),
        ("invoice-on-social", {"invoice_host": "shop.social.test", "social_invoice": 200}),
        # `call` is an OpenSSL client offering DHE suites, like the proxy: the compliant checkout.
        ("proxy-aware-routing", {"social_pay": 200}),
    ],
)
def test_each_violation_changes_exactly_its_behaviour(
    shop: DemoShop,
    call: Call,
    make_card: Callable[[str], str],
    violation: str,
    changed: dict[str, Any],
) -> None:
    shop.configure(violations=[violation])
    assert compliant_surface(call, make_card) == {**COMPLIANT, **changed}


def test_payment_on_social_forwards_to_commerce_server_side(
    shop: DemoShop, call: Call, make_card: Callable[[str], str]
) -> None:
    shop.configure(violations=["payment-on-social"])
    paid = paid_by_card(call, make_card("424242"), pay_host="api.social.test")
    row = shop.order(paid["order_id"])
    assert row is not None
    assert row["status"] == "paid"
    assert row["merchant_of_record"] == "commerce"
    pay_path = f"/api/orders/{paid['order_id']}/pay"
    assert [(e.company, e.host, e.via) for e in shop.access_log() if e.path == pay_path] == [
        ("commerce", "api.commerce.test", "backend"),
        ("social", "api.social.test", "browser"),
    ]


def test_invoice_on_social_proxies_the_commerce_invoice(
    shop: DemoShop, call: Call, make_card: Callable[[str], str]
) -> None:
    shop.configure(violations=["invoice-on-social"])
    paid = paid_by_card(call, make_card("424242"))
    order_id = paid["order_id"]
    assert paid["invoice_url"] == f"https://shop.social.test/invoices/{order_id}"
    on_social = call("GET", paid["invoice_url"])
    on_commerce = call("GET", f"https://invoice.commerce.test/invoices/{order_id}")
    assert on_social.status == 200
    assert on_social.body == on_commerce.body
    pdf = call("GET", paid["invoice_url"] + ".pdf")
    assert pdf.body.startswith(b"%PDF")
    via = [(e.company, e.via) for e in shop.access_log() if e.path == f"/invoices/{order_id}"]
    assert via == [("commerce", "backend"), ("social", "browser"), ("commerce", "browser")]


def test_baseline_serves_checkout_orders_and_invoices_from_social(
    shop: DemoShop, call: Call, make_card: Callable[[str], str]
) -> None:
    shop.configure(baseline=True)
    storefront = page_config(call("GET", "https://shop.social.test/"))
    assert storefront["checkoutUrl"] == "https://shop.social.test/checkout"
    assert storefront["orderStatusUrl"] == "https://api.social.test/api/orders/status"
    checkout = page_config(call("GET", "https://shop.social.test/checkout?sku=KOP-001"))
    assert checkout["ordersUrl"] == "https://api.social.test/api/orders"
    assert checkout["payBase"] == "https://api.social.test/api/orders/"
    order = create_order(call, api="api.social.test")
    charge = card_charge(call, order, make_card("424242"), account="social").json()
    paid = call(
        "POST",
        f"https://api.social.test/api/orders/{order['order_id']}/pay",
        {"method": "card", "charge_id": charge["id"]},
    ).json()
    assert paid["invoice_url"] == f"https://shop.social.test/invoices/{order['order_id']}"
    assert call("GET", paid["invoice_url"]).status == 200
    assert not [e for e in shop.access_log() if e.company == "commerce" and "order" in e.path]


def test_baseline_checkout_looks_the_same_as_commerce_checkout(shop: DemoShop, call: Call) -> None:
    def visible(body: bytes) -> str:
        text = body.decode()
        return re.sub(r"const PW = \{.*?\};|src=\"[^\"]*\"", "", text)

    compliant = call("GET", "https://checkout.commerce.test/checkout?sku=RMH-002").body
    shop.configure(baseline=True)
    baseline = call("GET", "https://shop.social.test/checkout?sku=RMH-002").body
    assert visible(baseline) == visible(compliant)


def test_configure_switches_live(shop: DemoShop, call: Call) -> None:
    shop.configure(violations=["payment-on-social"])
    assert shop.violations == {"payment-on-social"}
    first = page_config(call("GET", "https://checkout.commerce.test/checkout?sku=KOP-001"))
    shop.configure()
    second = page_config(call("GET", "https://checkout.commerce.test/checkout?sku=KOP-001"))
    assert first["payBase"] != second["payBase"]


def test_beacons_accept_only_promotion_fields(shop: DemoShop, call: Call) -> None:
    ok = call(
        "POST",
        "https://events.social.test/e",
        {"event": "product_click", "product_id": "KOP-001", "user_id": "su_1"},
        {"Content-Type": "text/plain"},
    )
    assert ok.status == 204
    leaky = call(
        "POST",
        "https://events.social.test/e",
        {"event": "product_click", "email": "budi@example.id"},
        {"Content-Type": "text/plain"},
    )
    assert leaky.status == 400
    assert [b["event"] for b in shop.beacons()] == ["product_click"]


def test_every_page_renders_without_template_leftovers(
    call: Call, make_card: Callable[[str], str]
) -> None:
    order = create_order(call)
    challenge = card_charge(call, order, make_card("400003")).json()
    va = call(
        "POST",
        f"https://api.commerce.test/api/orders/{create_order(call)['order_id']}/pay",
        {"method": "va"},
    ).json()["va"]
    wallet = call(
        "POST",
        f"https://api.commerce.test/api/orders/{create_order(call)['order_id']}/pay",
        {"method": "ewallet"},
    ).json()["ewallet"]
    paid = paid_by_card(call, make_card("424242"))
    pages = [
        "https://shop.social.test/",
        "https://shop.social.test/shop/m-kopi",
        "https://shop.social.test/product/KOP-001",
        "https://shop.social.test/orders",
        "https://shop.social.test/cart",
        "https://checkout.commerce.test/checkout?items=KOP-001:2,RMH-001:1",
        "https://pay.gateway.test/fields?account=commerce&origin=https://checkout.commerce.test",
        challenge["next_action"]["url"],
        va["simulator_url"],
        wallet["approve_url"],
        paid["invoice_url"],
    ]
    for url in pages:
        answer = call("GET", url)
        assert answer.status == 200, url
        assert answer.headers["Content-Type"].startswith("text/html"), url
        assert "{{" not in answer.body.decode(), url
    unknown = call("GET", "https://checkout.commerce.test/checkout?sku=NOPE-1")
    assert unknown.status == 404


def test_plain_http_mode_runs_a_card_payment(make_card: Callable[[str], str]) -> None:
    def post(shop: DemoShop, host: str, path: str, payload: Any, **headers: str) -> Any:
        port = int(shop.host_map[host].rsplit(":", 1)[1])
        conn = HTTPConnection("127.0.0.1", port, timeout=10)
        conn.request(
            "POST",
            path,
            json.dumps(payload),
            {"Host": host, "Content-Type": "application/json", **headers},
        )
        resp = conn.getresponse()
        body = json.loads(resp.read())
        conn.close()
        return body

    with DemoShop(tls=False) as shop:
        order = post(
            shop,
            "api.commerce.test",
            "/api/orders",
            {"items": [{"sku": "GDG-002", "qty": 2}], "buyer": BUYER},
        )
        assert order["amount"] == 2 * 199_000
        charge = post(
            shop,
            "pay.gateway.test",
            "/v1/charges",
            {
                "method": "card",
                "account": "commerce",
                "order_id": order["order_id"],
                "amount": order["amount"],
                "card": {"number": make_card("424242"), "expiry": "12/34", "cvc": "123"},
            },
            **{"Idempotency-Key": order["idempotency_key"]},
        )
        paid = post(
            shop,
            "api.commerce.test",
            f"/api/orders/{order['order_id']}/pay",
            {"method": "card", "charge_id": charge["id"]},
        )
        assert paid["status"] == "paid"
        backend = [e for e in shop.access_log() if e.via == "backend"]
        assert [(e.company, e.method) for e in backend] == [("gateway", "GET")]


def test_denied_ewallet_payment_fails_the_order(shop: DemoShop, call: Call) -> None:
    order = create_order(call)
    pay_url = f"https://api.commerce.test/api/orders/{order['order_id']}/pay"
    wallet = call("POST", pay_url, {"method": "ewallet", "provider": "dana"}).json()["ewallet"]
    denied = call("POST", wallet["approve_url"] + "/deny", {})
    assert denied.json()["status"] == "failed"
    row = shop.order(order["order_id"])
    assert row is not None
    assert row["status"] == "payment_failed"
    assert row["paid_at"] is None


# What Chromium offers (TLS 1.2 part; no finite-field DHE), and mitmproxy's upstream list.
_BROWSER_CIPHERS = (
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:"
    "ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305:"
    "ECDHE-RSA-AES128-SHA:ECDHE-RSA-AES256-SHA:AES128-GCM-SHA256:AES256-GCM-SHA384"
)


def _checkout_pay_base(shop: DemoShop, ciphers: str) -> str:
    """The pay URL the commerce checkout hands a TLS client offering these TLS 1.2 suites."""
    from mitmproxy.addons.tlsconfig import _DEFAULT_CIPHERS

    assert shop.ca_cert_path is not None
    ctx = ssl.create_default_context(cafile=str(shop.ca_cert_path))
    ctx.set_ciphers(ciphers or ":".join(_DEFAULT_CIPHERS))
    host = "checkout.commerce.test"
    port = int(shop.host_map[host].rsplit(":", 1)[1])
    conn = HTTPConnection(host, port, timeout=10)
    conn.sock = ctx.wrap_socket(
        socket.create_connection(("127.0.0.1", port), timeout=10), server_hostname=host
    )
    conn.request("GET", "/checkout?sku=KOP-001", headers={"Host": host})
    resp = conn.getresponse()
    body = resp.read()
    conn.close()
    match = re.search(rb"const PW = (\{.*?\});\n", body)
    assert match, body[:200]
    return str(json.loads(match.group(1))["payBase"])


def test_proxy_aware_routing_pays_on_social_only_for_a_browser_tls_client(shop: DemoShop) -> None:
    mitmproxy_like = ""  # mitmproxy's own upstream cipher list
    assert _checkout_pay_base(shop, mitmproxy_like) == "https://api.commerce.test/api/orders/"
    assert _checkout_pay_base(shop, _BROWSER_CIPHERS) == "https://api.commerce.test/api/orders/"
    shop.configure(violations=["proxy-aware-routing"])
    assert _checkout_pay_base(shop, mitmproxy_like) == "https://api.commerce.test/api/orders/"
    assert _checkout_pay_base(shop, _BROWSER_CIPHERS) == "https://api.social.test/api/orders/"
