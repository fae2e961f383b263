"""A declarative mapping between dataclasses and XML elements.

Each element class is a keyword-only dataclass with a ``TAG``; each field declares how
it maps with one of :func:`attr`, :func:`text`, :func:`text_child`, :func:`flag`,
:func:`child` or :func:`children`. The same spec drives :meth:`Element.to_element` and
:meth:`Element.from_element`, so formatting and parsing cannot drift apart. Attributes
and children are written in field order (which follows libvirt's own order); unknown
attributes and elements are ignored when parsing.
"""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Callable
from typing import Any, ClassVar, Generic, Self, TypeVar

from lxml import etree

from virtfleet import errors

T = TypeVar("T")


@dataclasses.dataclass(frozen=True)
class Codec(Generic[T]):
    """Converts one value to and from its XML string."""

    dump: Callable[[T], str]
    load: Callable[[str], T]


def _load_yesno(value: str) -> bool:
    if value not in ("yes", "no"):
        raise ValueError(f"expected yes or no, got {value!r}")
    return value == "yes"


def _load_onoff(value: str) -> bool:
    if value not in ("on", "off"):
        raise ValueError(f"expected on or off, got {value!r}")
    return value == "on"


STR: Codec[str] = Codec(str, str)
INT: Codec[int] = Codec(str, int)
YESNO: Codec[bool] = Codec(lambda v: "yes" if v else "no", _load_yesno)
ONOFF: Codec[bool] = Codec(lambda v: "on" if v else "off", _load_onoff)


class Kind(enum.Enum):
    ATTR = "attribute"
    TEXT = "text of the element itself"
    TEXT_CHILD = "child element holding text"
    TEXT_CHILDREN = "repeated child elements holding text"
    FLAG = "empty child element whose presence means True"
    CHILD = "one child element"
    CHILDREN = "repeated child elements"


@dataclasses.dataclass(frozen=True)
class Spec:
    """How one dataclass field maps to XML."""

    kind: Kind
    name: str | None = None  # attribute or tag; None: the field name with _ -> -
    codec: Codec[Any] = STR
    cls: type[Element] | None = None


_SPEC_KEY = "virtfleet.xml"


def _field(spec: Spec, default: Any = None, factory: Callable[[], Any] | None = None) -> Any:
    if factory is not None:
        return dataclasses.field(default_factory=factory, metadata={_SPEC_KEY: spec})
    return dataclasses.field(default=default, metadata={_SPEC_KEY: spec})


def attr(name: str | None = None, codec: Codec[Any] = STR, default: Any = None) -> Any:
    """An XML attribute (omitted when the value is None)."""
    return _field(Spec(Kind.ATTR, name, codec), default)


def text(codec: Codec[Any] = STR, default: Any = None) -> Any:
    """The element's own text (an element without text reads back as None)."""
    return _field(Spec(Kind.TEXT, None, codec), default)


def text_child(name: str | None = None, codec: Codec[Any] = STR, default: Any = None) -> Any:
    """A child element that holds only text, e.g. ``<name>vm</name>``."""
    return _field(Spec(Kind.TEXT_CHILD, name, codec), default)


def text_children(name: str, codec: Codec[Any] = STR) -> Any:
    """Repeated text-only children, as a list."""
    return _field(Spec(Kind.TEXT_CHILDREN, name, codec), factory=list)


def flag(name: str | None = None) -> Any:
    """An empty child element, e.g. ``<readonly/>``; True when present."""
    return _field(Spec(Kind.FLAG, name), False)


def child(cls: type[Element], name: str | None = None, required: bool = False) -> Any:
    """One child element of class ``cls`` (None when absent unless ``required``)."""
    return _field(Spec(Kind.CHILD, name, STR, cls), factory=cls if required else None)


def children(cls: type[Element], name: str | None = None) -> Any:
    """Repeated child elements of class ``cls``, as a list."""
    return _field(Spec(Kind.CHILDREN, name, STR, cls), factory=list)


def same_class_children(name: str | None = None) -> Any:
    """Repeated children of the owning class itself (recursive elements)."""
    return _field(Spec(Kind.CHILDREN, name), factory=list)


def _tag(spec: Spec, field_name: str, owner: type[Element]) -> str:
    namespace = owner.NAMESPACE
    if spec.name is not None:
        name = spec.name
    elif spec.cls is not None:
        return spec.cls.TAG
    elif spec.kind is Kind.CHILDREN:
        return owner.TAG
    else:
        name = field_name.replace("_", "-") if spec.kind is Kind.ATTR else field_name
    if namespace and spec.kind is not Kind.ATTR and not name.startswith("{"):
        return f"{{{namespace}}}{name}"
    return name


Binding = tuple[str, Spec, str]  # field name, spec, tag
_BINDINGS: dict[type, tuple[Binding, ...]] = {}


def _bindings(cls: type[Element]) -> tuple[Binding, ...]:
    """(field name, spec, tag) of every field of ``cls``, computed once per class."""
    found = _BINDINGS.get(cls)
    if found is None:
        found = _BINDINGS[cls] = tuple(
            (fld.name, fld.metadata[_SPEC_KEY], _tag(fld.metadata[_SPEC_KEY], fld.name, cls))
            for fld in dataclasses.fields(cls)  # type: ignore[arg-type]  # cls is a dataclass
        )
    return found


class Element:
    """Base of all XML element classes (subclasses are keyword-only dataclasses)."""

    TAG: ClassVar[str]
    NAMESPACE: ClassVar[str | None] = None  # namespace of this element's own children
    NSMAP: ClassVar[dict[str, str] | None] = None

    def to_element(self, tag: str | None = None) -> etree._Element:
        """This object as an lxml element."""
        element = etree.Element(tag or self.TAG, nsmap=self.NSMAP)
        self._fill(element)
        return element

    def _fill(self, element: etree._Element) -> None:
        for name, spec, tag in _bindings(type(self)):
            value = getattr(self, name)
            if spec.kind is Kind.ATTR:
                if value is not None:
                    element.set(tag, spec.codec.dump(value))
            elif spec.kind is Kind.TEXT:
                if value is not None:
                    element.text = spec.codec.dump(value)
            elif spec.kind is Kind.TEXT_CHILD:
                if value is not None:
                    etree.SubElement(element, tag).text = spec.codec.dump(value)
            elif spec.kind is Kind.TEXT_CHILDREN:
                for item in value:
                    etree.SubElement(element, tag).text = spec.codec.dump(item)
            elif spec.kind is Kind.FLAG:
                if value:
                    etree.SubElement(element, tag)
            elif spec.kind is Kind.CHILD:
                if value is not None:
                    element.append(value.to_element(tag))
            else:
                for item in value:
                    element.append(item.to_element(tag))

    def to_xml(self, pretty: bool = True) -> str:
        """Serialise to a string, attributes and children in declaration order."""
        return etree.tostring(self.to_element(), encoding="unicode", pretty_print=pretty)

    @classmethod
    def from_element(cls, element: etree._Element) -> Self:
        """Build an object from an lxml element, ignoring what the spec does not name."""
        values: dict[str, Any] = {}
        for name, spec, tag in _bindings(cls):
            try:
                values[name] = _read(spec, tag, element, cls)
            except ValueError as exc:
                raise errors.InvalidInput(
                    f"<{element.tag}> {spec.kind.value} {tag!r}: {exc}"
                ) from exc
        return cls(**values)

    @classmethod
    def parse(cls, xml: str | bytes) -> Self:
        """Parse an XML document whose root is this class's element."""
        try:
            root = etree.fromstring(xml.encode() if isinstance(xml, str) else xml, _PARSER)
        except etree.XMLSyntaxError as exc:
            raise errors.InvalidInput(f"malformed XML for <{cls.TAG}>: {exc}") from exc
        if root.tag != cls.TAG:
            raise errors.InvalidInput(f"expected a <{cls.TAG}> document, got <{root.tag}>")
        return cls.from_element(root)


_PARSER = etree.XMLParser(remove_blank_text=True, remove_comments=True, resolve_entities=False)


def _read(spec: Spec, tag: str, element: etree._Element, owner: type[Element]) -> Any:
    if spec.kind is Kind.ATTR:
        raw = element.get(tag)
        return None if raw is None else spec.codec.load(raw)
    if spec.kind is Kind.TEXT:
        return None if element.text is None else spec.codec.load(element.text.strip())
    if spec.kind is Kind.TEXT_CHILD:
        found = element.find(tag)
        return None if found is None else spec.codec.load((found.text or "").strip())
    if spec.kind is Kind.TEXT_CHILDREN:
        return [spec.codec.load((item.text or "").strip()) for item in element.findall(tag)]
    if spec.kind is Kind.FLAG:
        return element.find(tag) is not None
    cls = spec.cls or owner
    if spec.kind is Kind.CHILD:
        found = element.find(tag)
        return None if found is None else cls.from_element(found)
    return [cls.from_element(item) for item in element.findall(tag)]
