"""A real, minimal PDF invoice (one page, Helvetica), written by hand: no dependency."""

from __future__ import annotations

from typing import Any

__all__ = ["invoice_pdf", "text_pdf"]


def _pdf_text(text: str) -> str:
    safe = text.encode("latin-1", "replace").decode("latin-1")
    return safe.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")


def text_pdf(lines: list[tuple[int, str]]) -> bytes:
    """One A4 page; each line is (font size, text), laid out top to bottom."""
    ops = ["BT", "/F1 11 Tf", "56 780 Td"]
    for size, text in lines:
        ops.append(f"/F1 {size} Tf")
        ops.append(f"0 -{size + 8} Td")
        ops.append(f"({_pdf_text(text)}) Tj")
    ops.append("ET")
    stream = "\n".join(ops).encode("latin-1")
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] "
        b"/Resources << /Font << /F1 4 0 R >> >> /Contents 5 0 R >>",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>",
        b"<< /Length " + str(len(stream)).encode() + b" >>\nstream\n" + stream + b"\nendstream",
    ]
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n".encode() + body + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    for offset in offsets:
        out += f"{offset:010d} 00000 n \n".encode()
    out += (
        f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n"
    ).encode()
    return bytes(out)


def invoice_pdf(order: dict[str, Any], number: str) -> bytes:
    def rp(amount: int) -> str:
        return "Rp" + f"{amount:,}".replace(",", ".")

    lines: list[tuple[int, str]] = [
        (20, "INVOICE"),
        (11, number),
        (11, f"Order {order['order_id']} - status: {order['status'].upper()}"),
        (11, ""),
        (11, f"Buyer: {order['buyer_name']}"),
        (11, f"Ship to: {order['buyer_address']}"),
        (11, ""),
    ]
    for item in order["items"]:
        lines.append(
            (
                11,
                f"{item['qty']} x {item['name']} ({item['merchant_name']})  "
                f"{rp(item['price'] * item['qty'])}",
            )
        )
    lines += [(11, ""), (13, f"Total: {rp(order['amount'])}")]
    return text_pdf(lines)
