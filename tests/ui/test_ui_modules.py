"""The dashboard's own logic, run in the browser against its shipped modules (served
from the package by a fake origin, no node): the SSE parser, the stream's resume with
Last-Event-ID and its stop on a 401, and the live metrics' counts and latencies."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from actors.gateway.ui.assets import assets

ORIGIN = "http://podium.test"


@pytest.fixture
def origin(page: Any) -> Iterator[tuple[Any, list[dict[str, str]]]]:
    """A tab on a page of the shipped files; requests for the events are answered by
    ``events`` below (two events, then the stream ends) and recorded."""
    asked: list[dict[str, str]] = []

    def serve(route: Any) -> None:
        path = route.request.url.removeprefix(ORIGIN).split("?")[0]
        name = path.removeprefix("/ui/static/")
        if path == "/api/v1/events":
            asked.append(route.request.headers)
            if len(asked) == 3:
                route.fulfill(status=401, json={"error": "the token has expired"})
                return
            first = len(asked) * 10
            body = "".join(
                f": ping\nid: {n}-0\nevent: job.finished\ndata: "
                f"{json.dumps({'id': f'{n}-0', 'type': 'job.finished', 'job': str(n)})}\n\n"
                for n in (first, first + 1)
            )
            route.fulfill(status=200, body=body, headers={"Content-Type": "text/event-stream"})
        elif name in assets():
            asset = assets()[name]
            route.fulfill(status=200, body=asset.body, headers={"Content-Type": asset.media_type})
        else:
            route.fulfill(status=404, body="{}")

    page.route(f"{ORIGIN}/**", serve)
    page.goto(f"{ORIGIN}/ui/static/favicon.svg")
    yield page, asked


def test_the_sse_parser_takes_events_in_pieces_of_any_size(origin: Any) -> None:
    page, _ = origin
    events = page.evaluate(
        """async () => {
            const { SseParser } = await import('/ui/static/sse.js');
            const got = [];
            const parser = new SseParser((e) => got.push(e));
            const text = ': ping\\r\\nid: 7-0\\r\\nevent: job.started\\r\\ndata: {"a":\\r\\n'
                + 'data: 1}\\r\\n\\r\\ndata: plain\\n\\nid: 8-s0\\nevent: x\\n\\n';
            for (const piece of text.match(/[\\s\\S]{1,3}/g)) parser.push(piece);
            return got;
        }"""
    )
    # the data lines joined with a newline; an event with no data is not dispatched
    assert events == [
        {"type": "job.started", "data": '{"a":\n1}', "id": "7-0"},
        {"type": "message", "data": "plain", "id": None},
    ]


def test_the_stream_resumes_with_the_last_id_and_stops_on_a_401(origin: Any) -> None:
    page, asked = origin
    got = page.evaluate(
        """async () => {
            const { EventStream } = await import('/ui/static/sse.js');
            sessionStorage.setItem('podium.token', 'T');
            const seen = [];
            const states = [];
            await new Promise((resolve) => {
                const stream = new EventStream('/api/v1/events', {
                    onEvent: (e) => seen.push(e.id),
                    onState: (s) => { states.push(s); if (s === 'stopped') resolve(); },
                });
                stream.start();
            });
            return { seen, states };
        }"""
    )
    assert got["seen"] == ["10-0", "11-0", "20-0", "21-0"]
    assert got["states"] == ["live", "reconnecting", "live", "reconnecting", "stopped"]
    assert [h.get("last-event-id") for h in asked] == [None, "11-0", "21-0"]
    assert all(h["authorization"] == "Bearer T" for h in asked)


def test_live_metrics_count_ends_and_latency_from_the_events_own_times(origin: Any) -> None:
    page, _ = origin
    series = page.evaluate(
        """async () => {
            const { LiveMetrics, lineChart } = await import('/ui/static/charts.js');
            let now = 1000;
            const m = new LiveMetrics({ spanS: 10, bucketS: 2, now: () => now });
            for (let i = 0; i < 4; i += 1) {
                m.observe({ type: 'job.submitted', job: `j${i}`, time: 50 });
            }
            m.observe({ type: 'job.finished', job: 'j0', time: 51 });
            m.observe({ type: 'job.dead', job: 'j1', time: 53 });
            m.observe({ type: 'job.started', job: 'j2', time: 52 });
            now = 1004;
            m.observe({ type: 'job.finished', job: 'j2', time: 60 });
            m.observe({ type: 'job.finished', job: 'unseen', time: 61 });
            const p50 = m.series().map((p) => ({ t: p.t, v: p.p50 }));
            const svg = lineChart([{ cls: 'rate', points: p50 }], 10, String);
            const drawn = svg.querySelector('path').getAttribute('d');
            return { ended: m.ended, series: m.series(), drawn };
        }"""
    )
    assert series["ended"] == 4
    by_age = {p["t"]: p for p in series["series"]}
    assert sorted(by_age) == [0, 2, 4, 6, 8]
    assert by_age[4] == {"t": 4, "rate": 1, "p50": 3, "p95": 3}  # ends at 1000: 1 s and 3 s
    assert by_age[0] == {"t": 0, "rate": 1, "p50": 10, "p95": 10}  # the unseen one: no latency
    assert by_age[2]["rate"] == 0 and by_age[2]["p50"] is None
    # a bucket without latencies breaks the line rather than drawing a zero
    assert series["drawn"].count("M") == 2
