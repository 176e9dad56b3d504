"""XML parsing that remembers the line each element starts on, for `file:line` errors."""

import xml.etree.ElementTree as ET
from xml.parsers import expat

from data_builders.instruct.source import fail


def parse_xml(path):
    """Return (root element, {element: line}); malformed XML fails at its line."""
    builder, line_of = ET.TreeBuilder(), {}
    parser = expat.ParserCreate()
    parser.buffer_text = True

    def start(tag, attrs):
        line_of[builder.start(tag, attrs)] = parser.CurrentLineNumber

    parser.StartElementHandler = start
    parser.EndElementHandler = builder.end
    parser.CharacterDataHandler = builder.data
    with open(path, "rb") as f:
        try:
            parser.ParseFile(f)
        except expat.ExpatError as e:
            fail(path, e.lineno, f"not well-formed XML ({expat.ErrorString(e.code)})")
    return builder.close(), line_of


def required(element, key, path, line_of):
    """The attribute `key` of `element`, or a `file:line` error naming the tag and attribute."""
    value = element.get(key)
    if value is None:
        fail(path, line_of.get(element, "?"), f"<{element.tag}> has no '{key}' attribute")
    return value
