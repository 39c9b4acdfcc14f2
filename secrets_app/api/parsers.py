"""JSON request bodies, bounded in size and depth: bad input is a 400 with a reason, never a 500."""

from __future__ import annotations

import codecs
import json

from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser

MAX_BODY_BYTES = 64 * 1024  # a pull secret's spec is well under 1 KiB
MSG_TOO_BIG = "the request body is larger than {limit} bytes: send only the resource's metadata and spec."
MSG_TOO_DEEP = "the JSON body is nested too deeply: send only the resource's metadata and spec."
MSG_BAD_JSON = "the body is not valid JSON ({error}): send a JSON object."


class BoundedJSONParser(JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        body = stream.read(MAX_BODY_BYTES + 1) if stream is not None else b""
        if len(body) > MAX_BODY_BYTES:
            raise ParseError(MSG_TOO_BIG.format(limit=MAX_BODY_BYTES))
        encoding = (parser_context or {}).get("encoding") or "utf-8"
        try:
            text = codecs.decode(body, encoding)
            return json.loads(text, parse_constant=_no_constants)
        except RecursionError:
            raise ParseError(MSG_TOO_DEEP) from None
        except (ValueError, LookupError) as exc:
            raise ParseError(MSG_BAD_JSON.format(error=exc)) from None


def _no_constants(name: str):
    raise ValueError(f"{name} is not allowed in JSON")
