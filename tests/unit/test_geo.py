"""zakaz.geo: distances, the bundled gazetteer and forgiving city/region lookup. Pure, no database."""

from __future__ import annotations

import csv
import io
import math
from importlib import resources

import pytest

from zakaz.geo import (
    City,
    GeoIndex,
    LatLon,
    Region,
    city_key,
    default_index,
    haversine_km,
    locate,
)

MOSCOW = LatLon(55.7558, 37.6173)
SAINT_PETERSBURG = LatLon(59.9386, 30.3141)
VLADIVOSTOK = LatLon(43.1155, 131.8855)


def _rows(name: str) -> list[dict[str, str]]:
    text = (resources.files("zakaz") / "data" / name).read_text(encoding="utf-8")
    return list(csv.DictReader(io.StringIO(text)))


# --- haversine ---------------------------------------------------------------------------------------


def test_haversine_moscow_saint_petersburg() -> None:
    assert haversine_km(MOSCOW, SAINT_PETERSBURG) == pytest.approx(634, abs=5)


def test_haversine_moscow_vladivostok() -> None:
    assert haversine_km(MOSCOW, VLADIVOSTOK) == pytest.approx(6430, abs=30)


def test_haversine_is_symmetric_and_zero_on_the_same_point() -> None:
    assert haversine_km(MOSCOW, MOSCOW) == 0.0
    assert haversine_km(MOSCOW, VLADIVOSTOK) == pytest.approx(haversine_km(VLADIVOSTOK, MOSCOW))


def test_haversine_one_degree_of_latitude() -> None:
    assert haversine_km(LatLon(55.0, 37.0), LatLon(56.0, 37.0)) == pytest.approx(111.2, abs=0.1)


def test_haversine_across_the_antimeridian_takes_the_short_way() -> None:
    # Chukotka straddles 180 deg: 179.9 E and 179.9 W are 0.2 deg of longitude apart, not 359.8.
    d = haversine_km(LatLon(65.0, 179.9), LatLon(65.0, -179.9))
    assert d == pytest.approx(0.2 * 111.195 * math.cos(math.radians(65.0)), abs=0.1)


@pytest.mark.parametrize(
    ("lat", "lon"), [(90.1, 0.0), (-91.0, 0.0), (0.0, 180.5), (0.0, -181.0), (math.nan, 0.0), (0.0, math.inf)]
)
def test_latlon_rejects_impossible_coordinates(lat: float, lon: float) -> None:
    with pytest.raises(ValueError):
        LatLon(lat, lon)


def test_latlon_is_frozen() -> None:
    with pytest.raises(AttributeError):
        MOSCOW.lat = 0.0  # type: ignore[misc]


# --- city lookup --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("city", "expected"),
    [
        ("Москва", "Москва"),
        ("москва", "Москва"),
        ("г. Москва", "Москва"),
        ("г Москва", "Москва"),
        ("город Москва", "Москва"),
        ("Москва г", "Москва"),
        ("Moscow", "Москва"),
        ("Moskva", "Москва"),
        ("city of Moscow", "Москва"),
        ("Санкт-Петербург", "Санкт-Петербург"),
        ("Санкт Петербург", "Санкт-Петербург"),
        ("санкт—петербург", "Санкт-Петербург"),
        ("СПб", "Санкт-Петербург"),
        ("г. СПб", "Санкт-Петербург"),
        ("St. Petersburg", "Санкт-Петербург"),
        ("St Petersburg", "Санкт-Петербург"),
        ("Saint Petersburg", "Санкт-Петербург"),
        ("Saint-Petersburg", "Санкт-Петербург"),
        ("Sankt-Peterburg", "Санкт-Петербург"),
        ("Нижний Новгород", "Нижний Новгород"),
        ("Нижний-Новгород", "Нижний Новгород"),
        ("Nizhny Novgorod", "Нижний Новгород"),
        ("Nizhniy Novgorod", "Нижний Новгород"),
        ("Nizhnii Novgorod", "Нижний Новгород"),
        ("Н. Новгород", "Нижний Новгород"),
        ("Ростов-на-Дону", "Ростов-на-Дону"),
        ("Ростов на Дону", "Ростов-на-Дону"),
        ("Rostov-on-Don", "Ростов-на-Дону"),
        ("Rostov-na-Donu", "Ростов-на-Дону"),
        ("Екатеринбург", "Екатеринбург"),
        ("Yekaterinburg", "Екатеринбург"),
        ("Ekaterinburg", "Екатеринбург"),
        ("Орёл", "Орёл"),
        ("Орел", "Орёл"),
        ("Oryol", "Орёл"),
        ("Orel", "Орёл"),
        ("Королев", "Королёв"),
        ("Korolev", "Королёв"),
        ("Щелково", "Щёлково"),
        ("Shchelkovo", "Щёлково"),
        ("Тольятти", "Тольятти"),
        ("Togliatti", "Тольятти"),
        ("Tolyatti", "Тольятти"),
        ("Набережные Челны", "Набережные Челны"),
        ("Naberezhnye Chelny", "Набережные Челны"),
        ("Naberezhnyye Chelny", "Набережные Челны"),
        ("Йошкар-Ола", "Йошкар-Ола"),
        ("Yoshkar Ola", "Йошкар-Ола"),
        ("Nal'chik", "Нальчик"),
        ("Petropavlovsk-Kamchatskiy", "Петропавловск-Камчатский"),
        ("Komsomolsk-on-Amur", "Комсомольск-на-Амуре"),
        ("Komsomolsk-na-Amure", "Комсомольск-на-Амуре"),
        ("Sergiev Posad", "Сергиев Посад"),
        ("Yessentuki", "Ессентуки"),
        ("Essentuki", "Ессентуки"),
        ("KAZAN'", "Казань"),
        ("  казань  ", "Казань"),
    ],
)
def test_city_spellings(city: str, expected: str) -> None:
    match = locate(city, None)
    assert match is not None
    assert (match.name, match.precision) == (expected, "city")


def test_city_match_carries_the_city_coordinates_and_region() -> None:
    match = locate("Новосибирск", None)
    assert match is not None
    assert (match.lat, match.lon) == (55.0084, 82.9357)
    assert match.point == LatLon(55.0084, 82.9357)
    assert match.name_en == "Novosibirsk"
    assert match.region == "Новосибирская область"


def test_city_wins_over_region() -> None:
    match = locate("Казань", "Республика Татарстан")
    assert match is not None
    assert (match.name, match.precision) == ("Казань", "city")


def test_city_listed_under_a_neighbouring_region_still_matches() -> None:
    # New Moscow is often written as Moscow Oblast; the okrugs are constitutionally part of Tyumen Oblast.
    assert locate("Москва", "Московская обл.") == locate("Москва", None)
    surgut = locate("Сургут", "Тюменская область")
    assert surgut is not None and surgut.precision == "city"


def test_city_in_a_different_region_is_a_namesake_so_the_region_wins() -> None:
    # The bundled Blagoveshchensk is on the Amur; there is another one in Bashkortostan.
    match = locate("Благовещенск", "Респ. Башкортостан")
    assert match is not None
    assert (match.name, match.precision) == ("Республика Башкортостан", "region")


# --- region lookup -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("region", "expected"),
    [
        ("Московская область", "Московская область"),
        ("Московская обл.", "Московская область"),
        ("Московская обл", "Московская область"),
        ("обл. Московская", "Московская область"),
        ("Moscow Oblast", "Московская область"),
        ("Moscow oblast'", "Московская область"),
        ("Moscow Region", "Московская область"),
        ("Moskovskaya oblast", "Московская область"),
        ("Подмосковье", "Московская область"),
        ("Москва", "Москва"),
        ("г. Москва", "Москва"),
        ("Moscow", "Москва"),
        ("Республика Татарстан", "Республика Татарстан"),
        ("респ. Татарстан", "Республика Татарстан"),
        ("Татарстан респ", "Республика Татарстан"),
        ("Tatarstan", "Республика Татарстан"),
        ("Republic of Tatarstan", "Республика Татарстан"),
        ("Tatarstan Republic", "Республика Татарстан"),
        ("Краснодарский край", "Краснодарский край"),
        ("Krasnodar Krai", "Краснодарский край"),
        ("Krasnodar region", "Краснодарский край"),
        ("Krasnodarskiy kray", "Краснодарский край"),
        ("Алтайский край", "Алтайский край"),
        ("Altai Krai", "Алтайский край"),
        ("Республика Алтай", "Республика Алтай"),
        ("Altai Republic", "Республика Алтай"),
        ("Республика Саха (Якутия)", "Республика Саха (Якутия)"),
        ("Респ Саха /Якутия/", "Республика Саха (Якутия)"),
        ("Якутия", "Республика Саха (Якутия)"),
        ("Yakutia", "Республика Саха (Якутия)"),
        ("Sakha Republic", "Республика Саха (Якутия)"),
        ("Чувашская Республика - Чувашия", "Чувашская Республика — Чувашия"),
        ("Чувашия", "Чувашская Республика — Чувашия"),
        ("Chuvashia", "Чувашская Республика — Чувашия"),
        ("Ханты-Мансийский Автономный округ - Югра", "Ханты-Мансийский автономный округ — Югра"),
        ("ХМАО", "Ханты-Мансийский автономный округ — Югра"),
        ("Khanty-Mansi Autonomous Okrug", "Ханты-Мансийский автономный округ — Югра"),
        ("Ямало-Ненецкий АО", "Ямало-Ненецкий автономный округ"),
        ("Ненецкий АО", "Ненецкий автономный округ"),
        ("Еврейская Аобл", "Еврейская автономная область"),
        ("Jewish Autonomous Oblast", "Еврейская автономная область"),
        ("Кемеровская область - Кузбасс", "Кемеровская область — Кузбасс"),
        ("Кузбасс", "Кемеровская область — Кузбасс"),
        ("Северная Осетия", "Республика Северная Осетия — Алания"),
        ("North Ossetia-Alania", "Республика Северная Осетия — Алания"),
        ("Марий Эл", "Республика Марий Эл"),
        ("Mari El", "Республика Марий Эл"),
        ("Тыва", "Республика Тыва"),
        ("Tuva", "Республика Тыва"),
        ("Nizhny Novgorod Oblast", "Нижегородская область"),
        ("Novgorod Oblast", "Новгородская область"),
        ("Sverdlovskaya oblast", "Свердловская область"),
        ("Санкт-Петербург", "Санкт-Петербург"),
        ("Saint Petersburg", "Санкт-Петербург"),
        ("Ленинградская обл", "Ленинградская область"),
        ("Россия, Самарская обл.", "Самарская область"),
    ],
)
def test_region_spellings(region: str, expected: str) -> None:
    match = locate(None, region)
    assert match is not None
    assert (match.name, match.precision) == (expected, "region")


def test_region_match_carries_the_region_point() -> None:
    match = locate(None, "Свердловская обл.")
    assert match is not None
    assert (match.lat, match.lon) == (56.8389, 60.6057)  # Yekaterinburg, the administrative centre
    assert match.region == match.name == "Свердловская область"
    assert match.name_en == "Sverdlovsk Oblast"


def test_bare_altai_is_ambiguous_between_krai_and_republic() -> None:
    assert locate(None, "Altai") is None


# --- fallbacks ---------------------------------------------------------------------------------------


def test_unknown_city_with_known_region_falls_back_to_the_region() -> None:
    match = locate("д. Малые Вяземы", "Московская обл.")
    assert match is not None
    assert (match.name, match.precision) == ("Московская область", "region")
    assert (match.lat, match.lon) == (55.8204, 37.3302)


def test_unknown_city_and_unknown_region_is_none() -> None:
    assert locate("Атлантида", "Гиперборейская обл.") is None


def test_unknown_city_without_region_is_none() -> None:
    assert locate("Springfield", None) is None


def test_known_city_with_unknown_region_still_matches() -> None:
    match = locate("Тула", "Тульская губерния 1777 года")
    assert match is not None and match.name == "Тула" and match.precision == "city"


@pytest.mark.parametrize(("city", "region"), [(None, None), ("", ""), ("   ", None), ("г.", "обл.")])
def test_nothing_to_go_on_is_none(city: str | None, region: str | None) -> None:
    assert locate(city, region) is None


def test_ambiguous_city_needs_the_region() -> None:
    index = GeoIndex(
        cities=[
            City("Благовещенск", "Blagoveshchensk", "Амурская область", "Amur Oblast", 50.2907, 127.5272, 1),
            City(
                "Благовещенск", "Blagoveshchensk", "Республика Башкортостан", "Bashkortostan", 55.05, 55.96, 1
            ),
        ],
        regions=[
            Region("Амурская область", "Amur Oblast", 50.2907, 127.5272),
            Region("Республика Башкортостан", "Republic of Bashkortostan", 54.7348, 55.9579),
        ],
    )
    assert index.locate("Благовещенск", None) is None
    assert index.locate("Благовещенск", "Марсианская обл.") is None
    amur = index.locate("Blagoveshchensk", "Amur Oblast")
    assert amur is not None and (amur.lat, amur.precision) == (50.2907, "city")
    bash = index.locate("Благовещенск", "Башкортостан")
    assert bash is not None and (bash.lat, bash.precision) == (55.05, "city")


def test_default_index_is_loaded_once() -> None:
    assert default_index() is default_index()


# --- the bundled data --------------------------------------------------------------------------------

CITY_HEADER = ["name_ru", "name_en", "region_ru", "region_en", "lat", "lon", "population"]
REGION_HEADER = ["name_ru", "name_en", "lat", "lon"]


def _in_russia(lat: float, lon: float) -> bool:
    """Convention: longitudes are -180..180. Russia spans 19.6 E (Kaliningrad) to 169.0 W (Ratmanov
    Island), so a Chukotka point east of the antimeridian is written negative (Uelen is -169.8)."""
    return 41.0 <= lat <= 82.0 and (19.0 <= lon <= 180.0 or -180.0 <= lon <= -168.9)


def test_data_headers() -> None:
    for name, header in (("ru_cities.csv", CITY_HEADER), ("ru_regions.csv", REGION_HEADER)):
        text = (resources.files("zakaz") / "data" / name).read_text(encoding="utf-8")
        assert text.splitlines()[0].split(",") == header


def test_cities_data_sanity() -> None:
    rows = _rows("ru_cities.csv")
    assert 150 <= len(rows) <= 200
    for row in rows:
        lat, lon = float(row["lat"]), float(row["lon"])
        assert _in_russia(lat, lon), row
        assert len(row["lat"].split(".")[1]) == 4 and len(row["lon"].split(".")[1]) == 4, row
        assert int(row["population"]) > 0, row
        assert all(row[k].strip() == row[k] and row[k] for k in CITY_HEADER), row
    for column in ("name_ru", "name_en"):
        names = [r[column] for r in rows]
        assert len(names) == len(set(names)), f"duplicate {column}"
    keys = [city_key(r["name_ru"]) for r in rows]
    assert len(keys) == len(set(keys)), "two cities fold to the same lookup key"


def test_regions_data_sanity() -> None:
    rows = _rows("ru_regions.csv")
    assert len(rows) == 85  # the federal subjects the Russian constitution lists, incl. Crimea and Sevastopol
    for row in rows:
        assert _in_russia(float(row["lat"]), float(row["lon"])), row
    for column in ("name_ru", "name_en"):
        names = [r[column] for r in rows]
        assert len(names) == len(set(names)), f"duplicate {column}"


def test_every_city_is_in_a_listed_region_and_every_region_has_its_capital() -> None:
    regions = {r["name_ru"]: r for r in _rows("ru_regions.csv")}
    cities = _rows("ru_cities.csv")
    for city in cities:
        assert city["region_ru"] in regions, city
        assert city["region_en"] == regions[city["region_ru"]]["name_en"], city
    points = {(c["region_ru"], c["lat"], c["lon"]) for c in cities}
    for region in regions.values():
        assert (region["name_ru"], region["lat"], region["lon"]) in points, (
            f"no capital for {region['name_ru']}"
        )


def test_every_name_finds_its_own_row() -> None:
    index = default_index()
    for city in index.cities:
        assert index.find_cities(city.name_ru) == (city,)
        assert index.find_cities(city.name_en) == (city,)
    for region in index.regions:
        assert index.find_region(region.name_ru) is region
        assert index.find_region(region.name_en) is region


@pytest.mark.parametrize(
    ("city", "lat", "lon"),
    [
        ("Москва", 55.7558, 37.6173),
        ("Санкт-Петербург", 59.9386, 30.3141),
        ("Новосибирск", 55.0084, 82.9357),
        ("Екатеринбург", 56.8389, 60.6057),
        ("Казань", 55.7963, 49.1088),
        ("Владивосток", 43.1155, 131.8855),
        ("Нижний Новгород", 56.3287, 44.0020),
        ("Челябинск", 55.1600, 61.4000),
        ("Самара", 53.2000, 50.1500),
        ("Омск", 54.9900, 73.3700),
        ("Ростов-на-Дону", 47.2300, 39.7200),
        ("Красноярск", 56.0100, 92.8700),
        ("Калининград", 54.7100, 20.5100),
        ("Анадырь", 64.7300, 177.5100),
        ("Южно-Сахалинск", 46.9600, 142.7400),
    ],
)
def test_spot_check_coordinates(city: str, lat: float, lon: float) -> None:
    match = locate(city, None)
    assert match is not None
    assert haversine_km(match.point, LatLon(lat, lon)) < 5.0


def test_locate_keeps_recent_answers_bounded() -> None:
    from zakaz import geo

    geo._cached_locate.cache_clear()
    for _ in range(2):
        assert locate("г. Казань", None) == default_index().locate("г. Казань", None)
        assert locate("Nowhere", "Atlantis") is None
    assert geo._cached_locate.cache_info().hits == 2
    for i in range(geo.LOCATE_CACHE_SIZE + 5):
        locate(f"city {i}", None)
    assert geo._cached_locate.cache_info().currsize == geo.LOCATE_CACHE_SIZE
    long_city = "Москва" + " " * 300
    assert locate(long_city, None) == default_index().locate(long_city, None)  # looked up, not kept
    assert geo._cached_locate.cache_info().currsize == geo.LOCATE_CACHE_SIZE
