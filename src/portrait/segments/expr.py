"""Parse a segment expression: sqlglot's DuckDB tokenizer, then a small recursive-descent grammar.

Only this grammar is accepted, so no SQL ever passes through: a statement separator, a
function call or a sub-query is a syntax error with its position, never something executed.

    expr      := or
    or        := and (OR and)*
    and       := not (AND not)*
    not       := NOT not | primary
    primary   := '(' expr ')' | '@' name | segment('name') | value cmp operand | operand tail
    tail      := cmp value | [NOT] IN '(' value, ... ')' | [NOT] BETWEEN value AND value
               | IS [NOT] NULL | [NOT] LIKE 'pattern' | HAS 'key' | <nothing: a bool tag>
    operand   := tag | tag '[' 'key' ']'
    value     := number | 'string' | TRUE | FALSE | time
    time      := (snapshot_time | TIMESTAMP 'ts' | 'ts') ((+|-) INTERVAL n unit)*
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from fractions import Fraction

from sqlglot.dialects.duckdb import DuckDB
from sqlglot.errors import TokenError
from sqlglot.tokens import TokenType

from portrait.segments.ast import (
    COMPARE_OPS, FLIP, INTERVAL_UNITS, And, Between, Compare, Expression, Has, InList, Interval, IsNull, Like, Lit,
    Node, Not, Operand, Or, SegmentRef, TimeLit, Value,
)
from portrait.segments.errors import SegmentError, error_at

KEYWORDS = {"AND", "OR", "NOT", "IN", "IS", "NULL", "BETWEEN", "LIKE", "HAS", "TRUE", "FALSE", "INTERVAL", "TIMESTAMP"}
NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
SEGMENT_NAME = re.compile(r"^[a-z][a-z0-9_]{0,62}$")
PUNCT = {
    TokenType.L_PAREN: "(", TokenType.R_PAREN: ")", TokenType.L_BRACKET: "[", TokenType.R_BRACKET: "]",
    TokenType.COMMA: ",", TokenType.EQ: "=", TokenType.NEQ: "!=", TokenType.LT: "<", TokenType.LTE: "<=",
    TokenType.GT: ">", TokenType.GTE: ">=", TokenType.DASH: "-", TokenType.PLUS: "+", TokenType.PARAMETER: "@",
}
_TOKENIZER = DuckDB().tokenizer


@dataclass(frozen=True)
class Tok:
    kind: str  # word | ident | str | num | punct | kw | other | eof
    text: str  # a string's unescaped value, a keyword upper-cased, otherwise the source text
    start: int
    end: int  # exclusive
    raw: str

    @property
    def span(self) -> tuple[int, int]:
        return (self.start, self.end)


def _unterminated(source: str) -> int:
    """Offset of a string or quoted name left open (the tokenizer only says that one is)."""
    quote, at, i = None, len(source), 0
    while i < len(source):
        ch = source[i]
        if quote is None and ch in "'\"":
            quote, at = ch, i
        elif quote is not None and ch == quote:
            if i + 1 < len(source) and source[i + 1] == quote:
                i += 1
            else:
                quote = None
        i += 1
    return at if quote is not None else max(len(source) - 1, 0)


def tokenize(source: str) -> list[Tok]:
    try:
        raw = _TOKENIZER().tokenize(source)
    except TokenError as e:
        at = _unterminated(source)
        raise error_at(source, (at, len(source)), "unterminated string or quoted name",
                       "close it with a matching quote; double a quote inside a string: 'it''s'") from e
    toks: list[Tok] = []
    for t in raw:
        start, end = t.start, t.end + 1
        text = source[start:end]
        if t.token_type == TokenType.STRING:
            toks.append(Tok("str", t.text, start, end, text))
        elif t.token_type == TokenType.NUMBER:
            toks.append(Tok("num", t.text, start, end, text))
        elif t.token_type == TokenType.IDENTIFIER:
            toks.append(Tok("ident", t.text, start, end, text))
        elif t.token_type in PUNCT:
            toks.append(Tok("punct", PUNCT[t.token_type], start, end, text))
        elif text.upper() in KEYWORDS:
            toks.append(Tok("kw", text.upper(), start, end, text))
        elif NAME.match(text):
            toks.append(Tok("word", text, start, end, text))
        else:
            toks.append(Tok("other", text, start, end, text))
    toks.append(Tok("eof", "", len(source), len(source), ""))
    return toks


def _describe(tok: Tok) -> str:
    return "the end of the expression" if tok.kind == "eof" else f"`{tok.raw}`"


class Parser:
    def __init__(self, source: str, where: str = "<expression>"):
        self.source = source
        self.where = where
        self.toks = tokenize(source)
        self.i = 0
        self.refs: list[str] = []

    # -- token helpers -------------------------------------------------------------------------
    @property
    def tok(self) -> Tok:
        return self.toks[self.i]

    def peek(self, n: int = 1) -> Tok:
        return self.toks[min(self.i + n, len(self.toks) - 1)]

    def advance(self) -> Tok:
        t = self.tok
        self.i = min(self.i + 1, len(self.toks) - 1)
        return t

    def is_kw(self, *words: str) -> bool:
        return self.tok.kind == "kw" and self.tok.text in words

    def is_punct(self, *chars: str) -> bool:
        return self.tok.kind == "punct" and self.tok.text in chars

    def error(self, message: str, span: tuple[int, int] | None = None, hint: str | None = None) -> SegmentError:
        span = span or (self.tok.span if self.tok.kind != "eof" else (len(self.source), len(self.source) + 1))
        return error_at(self.source, span, message, hint, self.where)

    def expect_punct(self, ch: str, context: str) -> Tok:
        if not self.is_punct(ch):
            raise self.error(f"expected `{ch}` {context}, found {_describe(self.tok)}")
        return self.advance()

    # -- grammar -------------------------------------------------------------------------------
    def parse(self) -> Expression:
        if self.tok.kind == "eof":
            raise self.error("empty expression", (0, 1), "write a condition, e.g. country = 'Germany'")
        root = self.parse_or()
        if self.tok.kind != "eof":
            t = self.tok
            if t.kind == "punct" and t.text == ")":
                raise self.error("unbalanced parentheses: this `)` has no matching `(`")
            if t.raw == ";":
                raise self.error("unexpected `;`: an expression is one condition, not SQL statements")
            raise self.error(f"unexpected {_describe(t)} after a complete condition",
                             hint="join conditions with AND or OR")
        return Expression(self.source, root, tuple(dict.fromkeys(self.refs)))

    def parse_or(self) -> Node:
        first = self.parse_and()
        parts = [first]
        while self.is_kw("OR"):
            self.advance()
            parts.append(self.parse_and())
        return first if len(parts) == 1 else Or(tuple(parts), (parts[0].span[0], parts[-1].span[1]))

    def parse_and(self) -> Node:
        parts = [self.parse_not()]
        while self.is_kw("AND"):
            self.advance()
            parts.append(self.parse_not())
        return parts[0] if len(parts) == 1 else And(tuple(parts), (parts[0].span[0], parts[-1].span[1]))

    def parse_not(self) -> Node:
        if self.is_kw("NOT"):
            start = self.advance().start
            child = self.parse_not()
            return Not(child, (start, child.span[1]))
        return self.parse_primary()

    def parse_primary(self) -> Node:
        t = self.tok
        if self.is_punct("("):
            self.advance()
            if self.is_punct(")"):
                raise self.error("empty parentheses")
            inner = self.parse_or()
            if not self.is_punct(")"):
                if self.tok.kind == "eof":
                    raise self.error("unbalanced parentheses: this `(` is never closed", t.span)
                raise self.error(f"expected `)` or AND/OR, found {_describe(self.tok)}")
            self.advance()
            return inner
        if self.is_punct("@"):
            self.advance()
            name = self.tok
            if name.kind not in ("word", "ident"):
                raise self.error("expected a segment name after `@`")
            self.advance()
            return self._ref(name.text, (t.start, name.end), (name.start, name.end))
        if t.kind == "word" and t.text.lower() == "segment" and self.peek().kind == "punct" and self.peek().text == "(":
            self.advance()
            self.advance()
            name = self.tok
            if name.kind != "str":
                raise self.error("expected the segment's name as a string: segment('name')")
            self.advance()
            end = self.expect_punct(")", "after the segment name").end
            return self._ref(name.text, (t.start, end), name.span)
        if self._starts_value():
            return self.parse_value_first()
        if t.kind in ("word", "ident"):
            operand = self.parse_operand()
            return self.parse_tail(operand)
        if t.kind == "eof":
            raise self.error("the expression ends where a condition was expected")
        if t.kind == "punct" and t.text == ")":
            raise self.error("unbalanced parentheses: this `)` has no matching `(`")
        raise self.error(f"expected a tag, `(`, NOT or @segment, found {_describe(t)}")

    def _ref(self, name: str, span, name_span) -> SegmentRef:
        if not SEGMENT_NAME.match(name):
            raise self.error(f"`{name}` is not a segment name", name_span,
                             "segment names are lower-case letters, digits and _ (like tag ids)")
        self.refs.append(name)
        return SegmentRef(name, span)

    def _starts_value(self) -> bool:
        t = self.tok
        if t.kind in ("str", "num") or (t.kind == "kw" and t.text in ("TRUE", "FALSE", "TIMESTAMP")):
            return True
        if t.kind == "punct" and t.text in ("-", "+") and self.peek().kind == "num":
            return True
        return t.kind == "word" and t.text.lower() == "snapshot_time"

    def parse_value_first(self) -> Node:
        value = self.parse_value()
        if self.is_kw("IN", "NOT"):
            raise self.error("a value cannot be tested against a tag with IN", value.span,
                             "for a weighted set write `tag HAS 'key'`; otherwise write `tag IN (...)`")
        if not (self.tok.kind == "punct" and self.tok.text in COMPARE_OPS):
            raise self.error(f"expected a comparison after {self.source[value.span[0]:value.span[1]]}, "
                             f"found {_describe(self.tok)}", hint="a condition compares a tag with a value")
        op = self.advance().text
        if self.tok.kind not in ("word", "ident") or self._starts_value():
            raise self.error(f"expected a tag after `{op}`, found {_describe(self.tok)}",
                             hint="a condition compares a tag with a value, e.g. country = 'Germany'")
        operand = self.parse_operand()
        return Compare(operand, FLIP[op], value, (value.span[0], operand.span[1]))

    def parse_operand(self) -> Operand:
        t = self.advance()
        if t.kind == "word" and t.text.lower() == "snapshot_time":
            raise self.error("snapshot_time is a value, not a tag", t.span)
        if self.is_punct("["):
            self.advance()
            key = self.tok
            if key.kind != "str":
                raise self.error(f"expected a key as a string, e.g. {t.text}['Books'], found {_describe(key)}")
            self.advance()
            end = self.expect_punct("]", "after the key").end
            return Operand(t.text, key.text, (t.start, end), t.span, key.span)
        return Operand(t.text, None, t.span, t.span)

    def parse_tail(self, operand: Operand) -> Node:
        start = operand.span[0]
        t = self.tok
        if t.kind == "punct" and t.text in COMPARE_OPS:
            self.advance()
            value = self.parse_value()
            return Compare(operand, t.text, value, (start, value.span[1]))
        negated = False
        if self.is_kw("NOT") and self.peek().kind == "kw" and self.peek().text in ("IN", "BETWEEN", "LIKE"):
            self.advance()
            negated = True
        if self.is_kw("IN"):
            self.advance()
            if not self.is_punct("("):
                raise self.error(f"expected `(` after IN, found {_describe(self.tok)}", hint="IN ('a', 'b')")
            open_tok = self.advance()
            values = [self.parse_value()]
            while self.is_punct(","):
                self.advance()
                values.append(self.parse_value())
            if not self.is_punct(")"):
                if self.tok.kind == "eof":
                    raise self.error("unbalanced parentheses: this `(` is never closed", open_tok.span)
                raise self.error(f"expected `,` or `)` in the IN list, found {_describe(self.tok)}")
            end = self.advance().end
            return InList(operand, tuple(values), negated, (start, end))
        if self.is_kw("BETWEEN"):
            self.advance()
            low = self.parse_value()
            if not self.is_kw("AND"):
                raise self.error(f"expected AND in BETWEEN, found {_describe(self.tok)}", hint="x BETWEEN 1 AND 5")
            self.advance()
            high = self.parse_value()
            return Between(operand, low, high, negated, (start, high.span[1]))
        if self.is_kw("LIKE"):
            self.advance()
            pattern = self.tok
            if pattern.kind != "str":
                raise self.error(f"expected a pattern string after LIKE, found {_describe(pattern)}")
            self.advance()
            return Like(operand, Lit("string", pattern.text, pattern.raw, pattern.span), negated,
                        (start, pattern.end))
        if self.is_kw("IS"):
            self.advance()
            neg = False
            if self.is_kw("NOT"):
                self.advance()
                neg = True
            if not self.is_kw("NULL"):
                raise self.error(f"expected NULL after IS{' NOT' if neg else ''}, found {_describe(self.tok)}")
            end = self.advance().end
            return IsNull(operand, neg, (start, end))
        if self.is_kw("HAS"):
            self.advance()
            key = self.tok
            if key.kind != "str":
                raise self.error(f"expected a key string after HAS, found {_describe(key)}",
                                 hint=f"{operand.tag} HAS 'Books'")
            self.advance()
            return Has(operand, Lit("string", key.text, key.raw, key.span), (start, key.end))
        if t.kind in ("eof", "kw") and (t.kind == "eof" or t.text in ("AND", "OR")) or self.is_punct(")"):
            return Compare(operand, "=", Lit("bool", True, "TRUE", operand.span), operand.span, bare=True)
        if t.kind == "word":
            close = difflib.get_close_matches(t.text.upper(), ["HAS", "LIKE", "BETWEEN", "IN", "IS"], n=1, cutoff=0.6)
            if close:
                raise self.error(f"unknown operator `{t.raw}`", hint=f"did you mean `{close[0]}`?")
        raise self.error(f"expected a comparison (=, !=, <, <=, >, >=, IN, BETWEEN, IS NULL, LIKE, HAS) "
                         f"after `{self.source[operand.span[0]:operand.span[1]]}`, found {_describe(t)}")

    def parse_value(self) -> Value:
        t = self.tok
        if t.kind == "punct" and t.text in ("-", "+") and self.peek().kind == "num":
            self.advance()
            num = self.advance()
            lit = _number(num, self)
            if t.text == "-":
                lit = Lit("number", -lit.value, "-" + lit.text, (t.start, num.end), lit.is_double)
            else:
                lit = Lit("number", lit.value, lit.text, (t.start, num.end), lit.is_double)
            return lit
        if t.kind == "num":
            self.advance()
            return _number(t, self)
        if t.kind == "kw" and t.text in ("TRUE", "FALSE"):
            self.advance()
            return Lit("bool", t.text == "TRUE", t.text, t.span)
        if t.kind == "kw" and t.text == "TIMESTAMP":
            self.advance()
            s = self.tok
            if s.kind != "str":
                raise self.error("expected a string after TIMESTAMP, e.g. TIMESTAMP '2011-12-01 00:00:00'")
            self.advance()
            return self._shifts(Lit("string", s.text, s.raw, s.span), t.start)
        if t.kind == "word" and t.text.lower() == "snapshot_time":
            self.advance()
            return self._shifts(None, t.start, t.end)
        if t.kind == "str":
            self.advance()
            lit = Lit("string", t.text, t.raw, t.span)
            if self.is_punct("+", "-") and self.peek().kind == "kw" and self.peek().text == "INTERVAL":
                return self._shifts(lit, t.start)
            return lit
        if t.kind == "kw" and t.text == "NULL":
            raise self.error("NULL is not a value to compare with", hint="use `tag IS NULL` or `tag IS NOT NULL`")
        if t.kind in ("word", "ident"):
            raise self.error(f"expected a value, found the name `{t.raw}`",
                             hint="strings take single quotes: 'Germany'; conditions compare a tag with a value")
        raise self.error(f"expected a value, found {_describe(t)}")

    def _shifts(self, base: Lit | None, start: int, end: int | None = None) -> TimeLit:
        shifts: list[Interval] = []
        end = end if end is not None else (base.span[1] if base else start)
        while self.is_punct("+", "-") and self.peek().kind == "kw" and self.peek().text == "INTERVAL":
            sign = 1 if self.advance().text == "+" else -1
            kw = self.advance()
            amount_tok = self.tok
            unit_text = None
            if amount_tok.kind == "num":
                amount_text = amount_tok.text
            elif amount_tok.kind == "str":
                parts = amount_tok.text.split()
                amount_text = parts[0] if parts else ""
                unit_text = parts[1] if len(parts) == 2 else None
                if len(parts) > 2:
                    raise self.error("write one amount and unit per INTERVAL, e.g. INTERVAL 30 DAY")
            else:
                raise self.error(f"expected an amount after INTERVAL, found {_describe(amount_tok)}")
            if not re.fullmatch(r"\d+", amount_text):
                raise self.error("an interval amount is a whole number, e.g. INTERVAL 30 DAY", amount_tok.span)
            self.advance()
            unit_span = amount_tok.span
            if unit_text is None:
                u = self.tok
                if u.kind not in ("word", "kw"):
                    raise self.error(f"expected a unit (DAY, MONTH, ...) after the amount, found {_describe(u)}")
                unit_text, unit_span = u.raw, u.span
                self.advance()
            unit = unit_text.lower()
            unit = unit[:-1] if unit.endswith("s") and unit[:-1] in INTERVAL_UNITS else unit
            if unit not in INTERVAL_UNITS:
                close = difflib.get_close_matches(unit, list(INTERVAL_UNITS), n=1, cutoff=0.5)
                raise self.error(f"unknown interval unit `{unit_text}`", unit_span,
                                 f"did you mean `{close[0].upper()}`?" if close else
                                 "use SECOND, MINUTE, HOUR, DAY, WEEK, MONTH, QUARTER or YEAR")
            end = self.toks[self.i - 1].end
            shifts.append(Interval(sign, int(amount_text), unit, (kw.start, end)))
        return TimeLit(base, tuple(shifts), (start, end))


def _number(tok: Tok, parser: Parser) -> Lit:
    text = tok.text
    try:
        if "e" in text.lower():
            value = float(text)
            if value in (float("inf"), float("-inf")):
                raise parser.error("number out of range", tok.span)
            return Lit("number", Fraction(value), text, tok.span, is_double=True)
        return Lit("number", Fraction(text), text, tok.span)
    except (ValueError, ZeroDivisionError) as e:
        raise parser.error(f"`{tok.raw}` is not a number", tok.span) from e


def parse(source: str, where: str = "<expression>") -> Expression:
    """Text → expression tree, or a SegmentError pointing at the first problem."""
    if not isinstance(source, str):
        raise SegmentError("an expression must be text")
    if len(source) > 100_000:
        raise SegmentError("expression too long (over 100,000 characters)")
    return Parser(source, where).parse()
