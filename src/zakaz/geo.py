"""Geography for order allocation: great-circle distance and an offline city/region gazetteer for Russia.

When an address arrives without coordinates, ``locate(city, region)`` turns the free-text city and region
into a point so allocation can still pick the nearest warehouse. The gazetteer is two bundled tables:

* ``data/ru_cities.csv``: every federal subject's capital plus every city over ~100k people;
* ``data/ru_regions.csv``: every federal subject, placed at its administrative centre. The centre is
  where most of a region's customers live, which a geometric centroid (somewhere in the taiga for
  Krasnoyarsk Krai or Yakutia) is not. Moscow Oblast and Leningrad Oblast use their official centres,
  Krasnogorsk and Gatchina.

Coordinates are WGS84 degrees with 4 decimals (about 10 m). Longitudes are degrees east in the usual
-180..180 range, the same range the order API accepts. Every bundled point lies between 19 E
(Kaliningrad) and 178 E (Anadyr). The part of Chukotka east of the antimeridian would be written with a
negative longitude (Uelen is -169.8), not as 190.2. ``haversine_km`` handles the antimeridian either way.

Matching is forgiving by design: case, ``ё``/``е``, punctuation, hyphens vs spaces, prefixes such as
"г.", "город", "city of", region types ("обл.", "респ.", "край", "Oblast", "Republic", "АО"...) and
the usual English transliterations ("Nizhniy"/"Nizhny", "Yekaterinburg"/"Ekaterinburg") all fold to
the same key. Cyrillic is transliterated and Latin spellings are reduced to a common skeleton, so
"Ростов-на-Дону" and "Rostov-na-Donu" meet without a per-city alias list.
"""

from __future__ import annotations

import csv
import functools
import io
import math
import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from importlib import resources
from typing import Literal, TypeVar

EARTH_RADIUS_KM = 6371.0088  # IUGG mean radius

Precision = Literal["city", "region"]

K = TypeVar("K")
V = TypeVar("V")


@dataclass(frozen=True, slots=True)
class LatLon:
    """A WGS84 point: latitude -90..90, longitude -180..180 (degrees east)."""

    lat: float
    lon: float

    def __post_init__(self) -> None:
        if not (math.isfinite(self.lat) and math.isfinite(self.lon)):
            raise ValueError(f"coordinates must be finite: {self.lat!r}, {self.lon!r}")
        if not -90.0 <= self.lat <= 90.0:
            raise ValueError(f"latitude out of range -90..90: {self.lat!r}")
        if not -180.0 <= self.lon <= 180.0:
            raise ValueError(f"longitude out of range -180..180: {self.lon!r}")


def haversine_km(a: LatLon, b: LatLon) -> float:
    """Great-circle distance in km on a spherical Earth (within ~0.5% of the ellipsoid)."""
    phi1, phi2 = math.radians(a.lat), math.radians(b.lat)
    dphi = phi2 - phi1
    dlmb = math.radians(b.lon - a.lon)
    h = math.sin(dphi / 2) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(dlmb / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(h)))


@dataclass(frozen=True, slots=True)
class City:
    name_ru: str
    name_en: str
    region_ru: str
    region_en: str
    lat: float
    lon: float
    population: int

    @property
    def point(self) -> LatLon:
        return LatLon(self.lat, self.lon)


@dataclass(frozen=True, slots=True)
class Region:
    name_ru: str
    name_en: str
    lat: float
    lon: float

    @property
    def point(self) -> LatLon:
        return LatLon(self.lat, self.lon)


@dataclass(frozen=True, slots=True)
class GeoMatch:
    """Where an address was placed: ``name`` is the canonical Russian name of the city or region."""

    lat: float
    lon: float
    name: str
    name_en: str
    region: str
    precision: Precision

    @property
    def point(self) -> LatLon:
        return LatLon(self.lat, self.lon)


# --- normalisation ---------------------------------------------------------------------------------

_TRANSLIT = str.maketrans(
    {
        "а": "a", "б": "b", "в": "v", "г": "g", "д": "d", "е": "e", "ё": "e", "ж": "zh", "з": "z",
        "и": "i", "й": "y", "к": "k", "л": "l", "м": "m", "н": "n", "о": "o", "п": "p", "р": "r",
        "с": "s", "т": "t", "у": "u", "ф": "f", "х": "kh", "ц": "ts", "ч": "ch", "ш": "sh",
        "щ": "shch", "ъ": "", "ы": "y", "ь": "", "э": "e", "ю": "yu", "я": "ya",
    }
)  # fmt: skip

# Applied in order to the transliterated, letters-only key. Each step merges spellings that the common
# romanisations (BGN/PCGN, GOST, Wikipedia, passport) disagree on; both the table and the query go
# through the same steps, so the result only has to be consistent, not pretty.
_FOLDS: tuple[tuple[str, str], ...] = (
    ("shch", "sh"), ("sch", "sh"), ("kh", "h"), ("tz", "c"), ("ts", "c"), ("w", "v"), ("j", "y"),
    ("x", "ks"), ("q", "k"),
    ("iy", "y"), ("yy", "y"), ("ii", "y"), ("yi", "y"),
    ("yo", "e"), ("io", "e"), ("ye", "e"), ("ie", "e"), ("yu", "u"), ("iu", "u"), ("ya", "a"), ("ia", "a"),
    ("y", "i"),
)  # fmt: skip
_DOUBLED = re.compile(r"(.)\1+")
_NON_WORD = re.compile(r"[\W_]+")
# Alternative names inside one string: "Чувашская Республика — Чувашия", "Саха (Якутия)", "A / B", "A, B".
_PART_SEPARATORS = re.compile(r"\s+-\s+|[—–()\[\]/,;]")

# Words that carry no identity: "г. Москва", "city of Kazan", "Moscow, Russia".
_FILLERS = frozenset(
    {
        "г", "гор", "город", "пгт", "city", "town", "of", "the",
        "россия", "рф", "russia", "russian", "federation",
        "федерального", "значения", "federal", "significance",
    }
)  # fmt: skip

# Region kinds. A query's kind is used to tell "Moscow" (the city) from "Moscow Oblast", or "Altai Krai"
# from "Altai Republic"; a query with a missing or wrong kind still matches when its name alone is unique.
_KIND_WORDS: Mapping[str, str] = {
    **dict.fromkeys(("обл", "область", "oblast", "obl", "region", "province"), "oblast"),
    **dict.fromkeys(("респ", "республика", "republic", "resp", "rep"), "republic"),
    **dict.fromkeys(("край", "krai", "kray", "territory"), "krai"),
    **dict.fromkeys(("ао", "ao", "округ", "okrug"), "okrug"),
    **dict.fromkeys(("аобл", "aobl"), "autonomous_oblast"),
}
_KIND_PAIRS: Mapping[tuple[str, str], str] = {
    ("автономный", "округ"): "okrug",
    ("autonomous", "okrug"): "okrug",
    ("autonomous", "district"): "okrug",
    ("autonomous", "area"): "okrug",
    ("автономная", "область"): "autonomous_oblast",
    ("autonomous", "oblast"): "autonomous_oblast",
    ("autonomous", "region"): "autonomous_oblast",
}

# Spellings that no folding rule reaches, keyed by the canonical Russian name.
CITY_ALIASES: Mapping[str, tuple[str, ...]] = {
    "Москва": ("Мск",),
    "Санкт-Петербург": (
        "СПб", "С.-Петербург", "Петербург", "St. Petersburg", "Saint-Petersburg", "Sankt-Petersburg",
        "Petersburg",
    ),
    "Ростов-на-Дону": ("Ростов", "Rostov on Don", "Rostov"),
    "Нижний Новгород": ("Н. Новгород", "N. Novgorod", "Нижний"),
    "Великий Новгород": ("Новгород", "Novgorod", "Novgorod the Great"),
    "Екатеринбург": ("Екб",),
    "Тольятти": ("Togliatti",),
    "Набережные Челны": ("Челны", "Chelny"),
    "Петропавловск-Камчатский": ("Петропавловск", "Petropavlovsk"),
    "Комсомольск-на-Амуре": ("Комсомольск", "Komsomolsk"),
    "Ханты-Мансийск": ("Khanty-Mansiisk",),
}  # fmt: skip
REGION_ALIASES: Mapping[str, tuple[str, ...]] = {
    "Москва": ("Мск", "Moskva"),
    "Санкт-Петербург": ("СПб", "С.-Петербург", "Петербург", "St. Petersburg", "Saint-Petersburg"),
    "Московская область": ("Подмосковье", "Moscow Region"),
    "Ленинградская область": ("Ленобласть", "ЛО"),
    "Республика Башкортостан": ("Башкирия", "Bashkiria"),
    "Республика Северная Осетия — Алания": ("Северная Осетия", "РСО-Алания", "North Ossetia"),
    "Кабардино-Балкарская Республика": ("Кабардино-Балкария", "КБР", "Kabardino-Balkaria"),
    "Карачаево-Черкесская Республика": ("Карачаево-Черкесия", "КЧР", "Karachay-Cherkessia"),
    "Республика Тыва": ("Тува", "Tyva", "Tuva"),
    "Удмуртская Республика": ("Удмуртия", "Udmurtia"),
    "Чеченская Республика": ("Чечня", "Chechnya"),
    "Республика Крым": ("Крым", "Crimea"),
    "Республика Коми": ("Komi",),
    "Ханты-Мансийский автономный округ — Югра": ("ХМАО", "ХМАО — Югра", "KhMAO", "Ugra"),
    "Ямало-Ненецкий автономный округ": ("ЯНАО", "YaNAO", "Ямал", "Yamal"),
    "Ненецкий автономный округ": ("НАО",),
    "Еврейская автономная область": ("ЕАО",),
    "Чукотский автономный округ": ("Чукотка",),
    "Забайкальский край": ("Забайкалье", "Transbaikal", "Zabaikalsky Krai"),
    "Камчатский край": ("Камчатка",),
    "Приморский край": ("Приморье", "Primorye"),
}  # fmt: skip

# A city may legitimately be filed under its neighbour: "Московская обл., г. Москва" for New Moscow,
# "Тюменская обл., ХМАО, г. Сургут" because the two okrugs are also part of Tyumen Oblast.
_COMPATIBLE_REGIONS: frozenset[frozenset[str]] = frozenset(
    {
        frozenset({"Москва", "Московская область"}),
        frozenset({"Санкт-Петербург", "Ленинградская область"}),
        frozenset({"Севастополь", "Республика Крым"}),
        frozenset({"Тюменская область", "Ханты-Мансийский автономный округ — Югра"}),
        frozenset({"Тюменская область", "Ямало-Ненецкий автономный округ"}),
        frozenset({"Архангельская область", "Ненецкий автономный округ"}),
    }
)


def _tokens(text: str) -> list[str]:
    text = unicodedata.normalize("NFKC", text).casefold().replace("ё", "е")
    return [t for t in _NON_WORD.split(text) if t]


def _fold(word: str) -> str:
    key = "".join(ch for ch in word.translate(_TRANSLIT) if "a" <= ch <= "z" or ch.isdigit())
    for old, new in _FOLDS:
        key = key.replace(old, new)
    return _DOUBLED.sub(r"\1", key)


def _skeleton(words: Iterable[str]) -> str:
    # Folded word by word so nothing merges across a boundary: "Н. Новгород" must not become "Новгород".
    return "".join(_fold(w) for w in words)


def city_key(text: str) -> str:
    """The matching key of a city name: "г. Нижний Новгород" and "Nizhniy Novgorod" give the same."""
    return _skeleton(t for t in _tokens(text) if t not in _FILLERS)


def region_key(text: str) -> tuple[frozenset[str], str]:
    """(kinds, name key) of a region: "Московская обл." -> ({"oblast"}, key of "Московская")."""
    tokens = [t for t in _tokens(text) if t not in _FILLERS]
    kinds: set[str] = set()
    words: list[str] = []
    i = 0
    while i < len(tokens):
        pair = _KIND_PAIRS.get((tokens[i], tokens[i + 1])) if i + 1 < len(tokens) else None
        if pair is not None:
            kinds.add(pair)
            i += 2
            continue
        kind = _KIND_WORDS.get(tokens[i])
        if kind is not None:
            kinds.add(kind)
        else:
            words.append(tokens[i])
        i += 1
    return frozenset(kinds), _skeleton(words)


def _forms(text: str) -> list[str]:
    """The whole string first, then each alternative inside it ("A — B", "A (B)")."""
    parts = [p.strip() for p in _PART_SEPARATORS.split(text)]
    return [text, *(p for p in parts if p and p != text)]


def _regions_compatible(a: str, b: str) -> bool:
    return a == b or frozenset({a, b}) in _COMPATIBLE_REGIONS


# --- the index -------------------------------------------------------------------------------------


class GeoIndex:
    """An in-memory gazetteer. Build one from rows, or use ``default_index()`` for the bundled tables."""

    def __init__(self, cities: Sequence[City], regions: Sequence[Region]) -> None:
        self.cities: tuple[City, ...] = tuple(cities)
        self.regions: tuple[Region, ...] = tuple(regions)
        self._regions_by_name = {r.name_ru: r for r in self.regions}
        self._city_index: dict[str, list[City]] = {}
        self._region_typed: dict[tuple[frozenset[str], str], list[Region]] = {}
        self._region_loose: dict[str, list[Region]] = {}
        for city in self.cities:
            for name in (city.name_ru, city.name_en, *CITY_ALIASES.get(city.name_ru, ())):
                for form in _forms(name):
                    key = city_key(form)
                    if key:
                        _add(self._city_index, key, city)
        for region in self.regions:
            for name in (region.name_ru, region.name_en, *REGION_ALIASES.get(region.name_ru, ())):
                for form in _forms(name):
                    kinds, key = region_key(form)
                    if key:
                        _add(self._region_typed, (kinds, key), region)
                        _add(self._region_loose, key, region)

    @classmethod
    def from_csv(cls, cities_csv: str, regions_csv: str) -> GeoIndex:
        cities = [
            City(
                name_ru=row["name_ru"],
                name_en=row["name_en"],
                region_ru=row["region_ru"],
                region_en=row["region_en"],
                lat=float(row["lat"]),
                lon=float(row["lon"]),
                population=int(row["population"]),
            )
            for row in csv.DictReader(io.StringIO(cities_csv))
        ]
        regions = [
            Region(
                name_ru=row["name_ru"], name_en=row["name_en"], lat=float(row["lat"]), lon=float(row["lon"])
            )
            for row in csv.DictReader(io.StringIO(regions_csv))
        ]
        return cls(cities, regions)

    def find_cities(self, text: str) -> tuple[City, ...]:
        """Every city the text could name (usually one; none if unknown)."""
        for form in _forms(text):
            key = city_key(form)
            if key and key in self._city_index:
                return tuple(self._city_index[key])
        return ()

    def find_region(self, text: str) -> Region | None:
        """The one region the text names, or None when unknown or ambiguous ("Алтай")."""
        for form in _forms(text):
            kinds, key = region_key(form)
            if not key:
                continue
            typed = self._region_typed.get((kinds, key))
            if typed is not None:
                return typed[0] if len(typed) == 1 else None
            loose = self._region_loose.get(key)
            if loose is not None:
                return loose[0] if len(loose) == 1 else None
        return None

    def locate(self, city: str | None, region: str | None) -> GeoMatch | None:
        """Place an address: the city if it is known and unambiguous, else the region, else None.

        A region that is known also picks among same-named cities and overrides a city it contradicts
        ("Благовещенск" in Bashkortostan is not the bundled Blagoveshchensk on the Amur).
        """
        found_region = self.find_region(region) if region and region.strip() else None
        candidates = self.find_cities(city) if city and city.strip() else ()
        if found_region is not None:
            candidates = tuple(
                c for c in candidates if _regions_compatible(c.region_ru, found_region.name_ru)
            )
        if len(candidates) == 1:
            c = candidates[0]
            return GeoMatch(c.lat, c.lon, c.name_ru, c.name_en, c.region_ru, "city")
        if found_region is not None:
            r = found_region
            return GeoMatch(r.lat, r.lon, r.name_ru, r.name_en, r.name_ru, "region")
        return None


def _add(index: dict[K, list[V]], key: K, value: V) -> None:
    bucket = index.setdefault(key, [])
    if value not in bucket:
        bucket.append(value)


def _read_data(name: str) -> str:
    return (resources.files("zakaz") / "data" / name).read_text(encoding="utf-8")


@functools.cache
def default_index() -> GeoIndex:
    """The bundled Russian gazetteer, parsed on first use and shared afterwards."""
    return GeoIndex.from_csv(_read_data("ru_cities.csv"), _read_data("ru_regions.csv"))


LOCATE_CACHE_SIZE = 4096
_CACHED_LENGTH = 255  # longer texts than an address field holds are looked up, not kept


@functools.lru_cache(maxsize=LOCATE_CACHE_SIZE)
def _cached_locate(city: str | None, region: str | None) -> GeoMatch | None:
    return default_index().locate(city, region)


def locate(city: str | None, region: str | None) -> GeoMatch | None:
    """Place an address by city and/or region using the bundled gazetteer (see ``GeoIndex.locate``).

    The bundled tables never change, so the answers for recent (city, region) texts are kept (bounded).
    """
    if len(city or "") > _CACHED_LENGTH or len(region or "") > _CACHED_LENGTH:
        return default_index().locate(city, region)
    return _cached_locate(city, region)
