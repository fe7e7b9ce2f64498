"""InfluxDB over HTTP: line-protocol writers for the 1.x and 2.x write APIs, an InfluxQL reader.

The writers send one batch per request and map every failure to the two
outcomes `gateway.storage.DurableWriter` acts on: `TimeSeriesUnavailable`
(connection refused, timeout, 5xx, 429, auth or a missing database: keep the
data and retry) and `TimeSeriesRejected` (400, 413, 422: the data itself is
refused; InfluxDB 1.x says 400 "partial write" when only some points were bad,
and the good ones are stored anyway). Batching, retries and the spool live in
`DurableWriter`, not here: influxdb-client's batching `WriteApi` can lose
buffered points on close (influxdb-client-python issues #394, #504) and its
async client does not batch (#492), so it is used only for its conventions.

`InfluxQLReader` reads through `/query` (InfluxDB 1.x, and the v1-compatible
endpoint of 2.x and 3.x with a token). Nothing a caller passes reaches a query
unchecked: ids must match `^[A-Za-z0-9_-]{1,64}$`, a measurement must be a
telemetry type, and times are written as RFC 3339 literals from datetimes.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, Final

import httpx
import orjson
import structlog

from anxin.settings import InfluxSettings
from gateway.points import (
    FIELD_KINDS,
    MEASUREMENTS,
    check_aware,
    check_id,
    check_measurement,
    series_order,
    window_ns,
)
from gateway.timeseries import SeriesPoint, TimeSeriesRejected, TimeSeriesUnavailable

log = structlog.get_logger("anxin.influx")

_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)
_REJECTED: Final = frozenset({400, 413, 422})
_PRECISION: Final = "ns"
_CONTENT_TYPE: Final = {"Content-Type": "text/plain; charset=utf-8"}


def _error_text(response: httpx.Response) -> str:
    """InfluxDB's own words: `{"error": ...}` (1.x) or `{"message": ...}` (2.x)."""
    try:
        body = orjson.loads(response.content)
    except orjson.JSONDecodeError:
        return response.text[:300]
    if isinstance(body, dict):
        return str(body.get("error") or body.get("message") or body)[:300]
    return response.text[:300]


def _raise_for_status(response: httpx.Response, what: str) -> None:
    if response.status_code < 300:
        return
    message = f"{what}: HTTP {response.status_code}: {_error_text(response)}"
    if response.status_code in _REJECTED:
        raise TimeSeriesRejected(message)
    raise TimeSeriesUnavailable(message)


def _body(lines: Sequence[str]) -> bytes:
    return "\n".join(lines).encode()


class InfluxV1Writer:
    """`LineWriter` for InfluxDB 1.x `/write` (also served by 2.x and 3.x for v1 clients)."""

    def __init__(
        self,
        url: str,
        database: str,
        *,
        username: str | None = None,
        password: str | None = None,
        create_database: bool = True,
        timeout_s: float = 10.0,
    ) -> None:
        check_id(database)
        self.database = database
        self._create_database = create_database
        auth = httpx.BasicAuth(username, password or "") if username else None
        self._client = httpx.AsyncClient(base_url=url, auth=auth, timeout=timeout_s)

    @classmethod
    def from_settings(cls, settings: InfluxSettings) -> InfluxV1Writer:
        if settings.url is None:
            raise ValueError("no InfluxDB url configured")
        return cls(
            settings.url,
            settings.database,
            username=settings.username,
            password=settings.password.get_secret_value() if settings.password else None,
        )

    async def start(self) -> None:
        """Create the database when allowed; if InfluxDB is down, the first write will."""
        if not self._create_database:
            return
        try:
            await self._create()
        except TimeSeriesUnavailable as error:
            log.warning("influx_create_database_failed", database=self.database, error=str(error))

    async def _create(self) -> None:
        try:
            response = await self._client.post(
                "/query", data={"q": f'CREATE DATABASE "{self.database}"'}
            )
        except httpx.HTTPError as error:
            raise TimeSeriesUnavailable(f"InfluxDB: {error!r}") from error
        _raise_for_status(response, "CREATE DATABASE")
        log.info("influx_database_ready", database=self.database)

    async def write(self, lines: Sequence[str]) -> None:
        """POST the lines to `/write`; raise TimeSeriesUnavailable / TimeSeriesRejected."""
        if not lines:
            return
        body = _body(lines)
        response = await self._post(body)
        if response.status_code == 404 and self._create_database:
            # The database is gone or was never made (InfluxDB was down at start).
            await self._create()
            response = await self._post(body)
        _raise_for_status(response, "InfluxDB write")

    async def _post(self, body: bytes) -> httpx.Response:
        try:
            return await self._client.post(
                "/write",
                params={"db": self.database, "precision": _PRECISION},
                content=body,
                headers=_CONTENT_TYPE,
            )
        except httpx.HTTPError as error:
            raise TimeSeriesUnavailable(f"InfluxDB write: {error!r}") from error

    async def aclose(self) -> None:
        await self._client.aclose()


class InfluxV2Writer:
    """`LineWriter` for InfluxDB 2.x `/api/v2/write` (org, bucket, token) through influxdb-client.

    The library's synchronous write API sends each batch as given, on a worker
    thread: batching, retries and the spool stay ours, because its batching
    writer can drop buffered points on close (influxdb-client-python #394, #504)
    and its async client does not batch (#492). Imported here only, so a
    gateway on the v1 API does not carry the library (about 12 MB).
    """

    def __init__(
        self, url: str, *, org: str, bucket: str, token: str, timeout_s: float = 10.0
    ) -> None:
        from influxdb_client.client.influxdb_client import InfluxDBClient
        from influxdb_client.client.write_api import SYNCHRONOUS

        self._org = org
        self._bucket = bucket
        self._client = InfluxDBClient(
            url=url, token=token, org=org, timeout=int(timeout_s * 1000), retries=False
        )
        self._write_api = self._client.write_api(write_options=SYNCHRONOUS)

    @classmethod
    def from_settings(cls, settings: InfluxSettings) -> InfluxV2Writer:
        if settings.url is None or not settings.org or not settings.bucket or not settings.token:
            raise ValueError("InfluxDB v2 needs url, org, bucket and token")
        return cls(
            settings.url,
            org=settings.org,
            bucket=settings.bucket,
            token=settings.token.get_secret_value(),
        )

    async def start(self) -> None:
        """Nothing to prepare: a 2.x bucket is made by its operator, with its retention."""

    async def write(self, lines: Sequence[str]) -> None:
        """Write the lines to `/api/v2/write`; raise TimeSeriesUnavailable / TimeSeriesRejected."""
        if lines:
            await asyncio.to_thread(self._write_blocking, "\n".join(lines))

    def _write_blocking(self, body: str) -> None:
        from influxdb_client.rest import ApiException

        try:
            # The library's default precision is nanoseconds, the precision of our lines.
            self._write_api.write(bucket=self._bucket, org=self._org, record=body)
        except ApiException as error:
            message = f"InfluxDB write: HTTP {error.status}: {_v2_reason(error.body)}"
            if error.status in _REJECTED:
                raise TimeSeriesRejected(message) from error
            raise TimeSeriesUnavailable(message) from error
        except Exception as error:  # urllib3 and socket errors: the store is unreachable
            raise TimeSeriesUnavailable(f"InfluxDB write: {error!r}") from error

    async def aclose(self) -> None:
        await asyncio.to_thread(self._client.close)


def _v2_reason(body: object) -> str:
    """InfluxDB 2.x's own words from an error body `{"code": ..., "message": ...}`."""
    try:
        document = orjson.loads(body if isinstance(body, bytes | str) else b"")
    except orjson.JSONDecodeError:
        return str(body)[:300]
    if isinstance(document, dict) and "message" in document:
        return str(document["message"])[:300]
    return str(body)[:300]


def _literal(moment: datetime) -> str:
    """An RFC 3339 InfluxQL time literal, always UTC with microseconds."""
    return "'" + check_aware(moment).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ") + "'"


class InfluxQLReader:
    """`TimeSeriesReader` over InfluxQL `/query` (1.x; 2.x and 3.x v1 compatibility)."""

    def __init__(
        self,
        url: str,
        database: str,
        *,
        username: str | None = None,
        password: str | None = None,
        token: str | None = None,
        timeout_s: float = 30.0,
    ) -> None:
        check_id(database)
        self.database = database
        headers = {"Authorization": f"Token {token}"} if token else None
        auth = httpx.BasicAuth(username, password or "") if username and not token else None
        self._client = httpx.AsyncClient(
            base_url=url, auth=auth, headers=headers, timeout=timeout_s
        )

    @classmethod
    def from_settings(cls, settings: InfluxSettings) -> InfluxQLReader:
        if settings.url is None:
            raise ValueError("no InfluxDB url configured")
        token = settings.token.get_secret_value() if settings.token else None
        return cls(
            settings.url,
            # Through 2.x's v1 API the "database" is the bucket's DBRP mapping.
            settings.bucket if settings.api == "v2" and settings.bucket else settings.database,
            username=settings.username,
            password=settings.password.get_secret_value() if settings.password else None,
            token=token,
        )

    async def _query(self, influxql: str) -> list[dict[str, Any]]:
        """Each statement's result (`{"series": [...]}` or empty) in order."""
        try:
            response = await self._client.get(
                "/query", params={"db": self.database, "q": influxql, "epoch": "ns"}
            )
        except httpx.HTTPError as error:
            raise TimeSeriesUnavailable(f"InfluxDB query: {error!r}") from error
        _raise_for_status(response, "InfluxDB query")
        results: list[dict[str, Any]] = orjson.loads(response.content).get("results", [])
        for result in results:
            problem = result.get("error")
            if problem and not str(problem).startswith("database not found"):
                raise TimeSeriesUnavailable(f"InfluxDB query: {problem}")
        return results

    async def latest(self, home_id: str) -> dict[str, SeriesPoint]:
        """The newest point of each measurement for a home (one request)."""
        check_id(home_id)
        statements = ";".join(
            f'SELECT * FROM "{measurement}" WHERE "home_id" = \'{home_id}\' '
            "GROUP BY * ORDER BY time DESC LIMIT 1"
            for measurement in MEASUREMENTS
        )
        results = await self._query(statements)
        latest: dict[str, SeriesPoint] = {}
        for measurement, result in zip(MEASUREMENTS, results, strict=False):
            points = _points(measurement, result.get("series") or [], aggregated=False)
            if points:
                latest[measurement] = max(points, key=lambda point: point.time)
        return latest

    async def series(
        self,
        home_id: str,
        measurement: str,
        *,
        since: datetime,
        until: datetime,
        every: timedelta | None = None,
    ) -> list[SeriesPoint]:
        """Points in [since, until), or per-series, per-window means of numeric fields."""
        check_id(home_id)
        check_measurement(measurement)
        where = (
            f"WHERE \"home_id\" = '{home_id}' "
            f"AND time >= {_literal(since)} AND time < {_literal(until)}"
        )
        if every is None:
            influxql = f'SELECT * FROM "{measurement}" {where} GROUP BY *'
        else:
            window_us = window_ns(every) // 1_000
            influxql = (
                f'SELECT mean(*) FROM "{measurement}" {where} '
                f"GROUP BY time({window_us}u), * fill(none)"
            )
        (result,) = await self._query(influxql)
        points = _points(measurement, result.get("series") or [], aggregated=every is not None)
        points.sort(key=series_order)
        return points

    async def count(self, measurement: str) -> int:
        """How many points a measurement holds, across all homes."""
        check_measurement(measurement)
        (result,) = await self._query(f'SELECT count("seq") FROM "{measurement}"')
        rows = [row for series in result.get("series") or [] for row in series["values"]]
        return int(rows[0][1]) if rows else 0

    async def aclose(self) -> None:
        await self._client.aclose()


def _points(
    measurement: str, series_list: list[dict[str, Any]], *, aggregated: bool
) -> list[SeriesPoint]:
    """SeriesPoints from InfluxQL series, with field types restored from the schema.

    InfluxDB's JSON writes a whole float as `128`; the schema says it is a float.
    Tags a series lacks come back as "" and fields a point lacks as null: both
    are left out, as the local store does.
    """
    kinds: Mapping[str, str] = FIELD_KINDS[measurement]
    points: list[SeriesPoint] = []
    for series in series_list:
        tags = {key: value for key, value in (series.get("tags") or {}).items() if value}
        columns: list[str] = series["columns"]
        for row in series["values"]:
            fields: dict[str, float | int | bool | str | None] = {}
            for column, value in zip(columns[1:], row[1:], strict=True):
                if value is None:
                    continue
                if aggregated:
                    key = column.removeprefix("mean_")
                    if key != "seq":
                        fields[key] = float(value)
                    continue
                kind = kinds.get(column)
                if kind == "float":
                    value = float(value)
                elif kind == "int":
                    value = int(value)
                fields[column] = value
            if fields:
                time = _EPOCH + timedelta(microseconds=int(row[0]) // 1_000)
                points.append(SeriesPoint(time=time, tags=tags, fields=fields))
    return points
