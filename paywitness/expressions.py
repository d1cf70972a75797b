"""Display expressions: a value on screen computed from served fields (`price + shipping`).

Only numbers, field names, `+ - *`, unary minus and parentheses: a profile is data, never code.
Amounts are `Decimal`, so `0.1 + 0.2` is `0.3`; screens are read with the display's locale
(`Rp1.234.500`, `1,234.50 $`, `1 234,50 €`).
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

__all__ = ["Expression", "parse_amount", "parse_expression"]

# Languages that write the decimal part after a comma (and group with `.`, space or `'`).
_COMMA_DECIMAL = frozenset(
    "id de fr es it nl pt ru tr pl cs sk sv da nb fi el ro hu uk vi bg hr sl sr lt lv et".split()
)
_NUMBER = re.compile(r"-?\d[\d.,\s'\u00a0\u202f]*")


@dataclass(frozen=True)
class Expression:
    """A parsed display expression; `names` are the served fields it reads."""

    text: str
    names: tuple[str, ...]
    _tree: ast.expr

    def evaluate(self, values: dict[str, Decimal]) -> Decimal:
        """The value for these fields (KeyError names a missing one)."""
        return _eval(self._tree, values)


def _eval(node: ast.expr, values: dict[str, Decimal]) -> Decimal:
    if isinstance(node, ast.Constant):
        return Decimal(str(node.value))
    if isinstance(node, ast.Name):
        return values[node.id]
    if isinstance(node, ast.UnaryOp):
        return -_eval(node.operand, values)
    assert isinstance(node, ast.BinOp)
    left, right = _eval(node.left, values), _eval(node.right, values)
    if isinstance(node.op, ast.Add):
        return left + right
    if isinstance(node.op, ast.Sub):
        return left - right
    return left * right


def _check(node: ast.AST, names: list[str], text: str) -> None:
    if isinstance(node, ast.Constant) and type(node.value) in (int, float):
        return
    if isinstance(node, ast.Name):
        if node.id not in names:
            names.append(node.id)
        return
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        _check(node.operand, names, text)
        return
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add | ast.Sub | ast.Mult):
        _check(node.left, names, text)
        _check(node.right, names, text)
        return
    raise ValueError(
        f"{text!r}: {ast.unparse(node)!r} is not allowed (use field names, numbers, + - * "
        "and parentheses, e.g. 'price + shipping')"
    )


def parse_expression(text: str) -> Expression:
    """Parse and check an expression; ValueError saying what is wrong and what is allowed."""
    try:
        tree = ast.parse(text.strip(), mode="eval").body
    except SyntaxError as e:
        raise ValueError(
            f"{text!r} is not an expression ({e.msg}; e.g. 'price + shipping', 'price * qty')"
        ) from e
    names: list[str] = []
    _check(tree, names, text)
    if not names:
        raise ValueError(f"{text!r} reads no served field (e.g. 'price + shipping')")
    return Expression(text, tuple(names), tree)


def parse_amount(raw: str | None, locale: str) -> Decimal | None:
    """The first amount shown in `raw`, read in `locale` (`id-ID`: `Rp1.234,50` is 1234.50)."""
    if raw is None:
        return None
    m = _NUMBER.search(raw.replace("\u2212", "-"))
    if m is None:
        return None
    text = re.sub(r"[\s'\u00a0\u202f]", "", m.group(0)).rstrip(".,")
    comma_decimal = locale.split("-")[0].lower() in _COMMA_DECIMAL
    group, decimal = (".", ",") if comma_decimal else (",", ".")
    text = text.replace(group, "").replace(decimal, ".")
    try:
        return Decimal(text)
    except InvalidOperation:
        return None
