"""The dashboard in a real browser against a real development node with auth on: log in,
watch a job go from pending to succeeded and follow its output without reloading, retry
a dead job (and see a user refused), pause a type, cancel in bulk, edit a schedule."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from runtime.passwords import hash_password
from tests.dev_node import dev_node, http_url
from tests.ui.shots import screenshot

# without playwright installed this module is skipped rather than failing to import
expect = pytest.importorskip("playwright.sync_api").expect
WAIT_MS = 15_000
USERS = {"alice": ("admin", "alice-pw"), "bob": ("user", "bob-pw")}


class Node:
    """The node's address and an API client per user."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.clients: dict[str, httpx.Client] = {}

    def api(self, user: str) -> httpx.Client:
        if user not in self.clients:
            answer = httpx.post(
                f"{self.url}/auth/login", json={"username": user, "password": USERS[user][1]}
            )
            answer.raise_for_status()
            token = answer.json()["token"]
            self.clients[user] = httpx.Client(
                base_url=self.url, headers={"Authorization": f"Bearer {token}"}, timeout=10
            )
        return self.clients[user]

    def submit(self, user: str, job: dict[str, Any]) -> str:
        answer = self.api(user).post("/api/v1/jobs", json=job)
        assert answer.status_code == 201, answer.text
        return str(answer.json()["id"])

    def wait_status(self, job_id: str, status: str, within_s: float = 20) -> None:
        deadline = time.monotonic() + within_s
        while (seen := self.api("alice").get(f"/api/v1/jobs/{job_id}").json()["status"]) != status:
            assert time.monotonic() < deadline, f"job {job_id} is {seen}, not {status}"
            time.sleep(0.1)


@pytest.fixture(scope="module")
def node(browser: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Node]:
    users = "".join(
        f'[[auth.users]]\nname = "{name}"\nrole = "{role}"\n'
        f'password_hash = "{hash_password(password)}"\n'
        for name, (role, password) in USERS.items()
    )
    config = tmp_path_factory.mktemp("ui-config") / "podium.toml"
    config.write_text(
        '[auth]\nenabled = true\nsecret = "a-test-secret-of-more-than-32-bytes!"\n' + users
    )
    args = ["--config", str(config), "--handlers", "tests.ui.ui_handlers"]
    for cluster in dev_node(tmp_path_factory, "ui-node", master_args=args):
        node = Node(http_url(cluster))
        yield node
        for client in node.clients.values():
            client.close()


def log_in(page: Any, node: Node, user: str, where: str = "#/") -> None:
    page.goto(f"{node.url}/ui{where}")
    expect(page.locator("#login")).to_be_visible(timeout=WAIT_MS)
    page.fill("#username", user)
    page.fill("#password", USERS[user][1])
    page.click("#login button[type=submit]")
    expect(page.locator("#user")).to_have_text(f"{user} ({USERS[user][0]})", timeout=WAIT_MS)


def test_login_is_asked_for_and_a_wrong_password_refused(page: Any, node: Node) -> None:
    page.goto(f"{node.url}/ui#/jobs")
    expect(page.locator("#login")).to_be_visible(timeout=WAIT_MS)
    page.fill("#username", "alice")
    page.fill("#password", "wrong")
    page.click("#login button[type=submit]")
    expect(page.locator("#login-error")).to_have_text("wrong username or password")
    page.fill("#password", USERS["alice"][1])
    page.click("#login button[type=submit]")
    # back where the login was asked for, the token in this tab's sessionStorage
    expect(page.locator("#job-search")).to_be_visible(timeout=WAIT_MS)
    assert page.evaluate("sessionStorage.getItem('podium.token')")
    page.click("#logout")
    expect(page.locator("#login")).to_be_visible()
    assert page.evaluate("sessionStorage.getItem('podium.token')") is None


def test_a_job_goes_pending_to_succeeded_live_and_its_output_follows(
    page: Any, node: Node, tmp_path: Path
) -> None:
    log_in(page, node, "alice", "#/limits")
    # pause the type from the page: the job then waits, pending, for as long as we like
    page.fill("#limit-type", "ui.steps")
    page.click("#type-pause")
    expect(page.locator('tr[data-type="ui.steps"] .cell-paused')).to_have_text("paused")
    release = tmp_path / "release"
    parent = node.submit("alice", {"type": "noop"})
    steps = {"type": "ui.steps", "payload": {"release": str(release)}, "depends_on": [parent]}
    job = node.submit("alice", steps)
    child = node.submit("alice", {"type": "noop", "depends_on": [job]})
    page.goto(f"{node.url}/ui#/job/{job}")
    page.evaluate("window.notReloaded = true")
    status = page.locator("#job-status")
    expect(status).to_have_text("pending", timeout=WAIT_MS)
    time.sleep(0.5)
    expect(status).to_have_text("pending")
    node.api("alice").post("/api/v1/types/ui.steps/resume").raise_for_status()
    expect(status).to_have_text("running", timeout=WAIT_MS)
    # what the handler printed so far, and its progress, while it still runs
    expect(page.locator("#job-logs")).to_contain_text("line one", timeout=WAIT_MS)
    expect(page.locator("#job-progress")).to_contain_text("50% half way", timeout=WAIT_MS)
    expect(page.locator("#job-logs")).not_to_contain_text("line two")
    graph = page.locator("#job-graph")
    expect(graph.locator(f'a[href="#/job/{parent}"]')).to_contain_text("succeeded")
    expect(graph.locator(f'a[href="#/job/{child}"]')).to_contain_text("blocked")
    screenshot(page, tmp_path, "dashboard-job.png")
    release.touch()
    expect(status).to_have_text("succeeded", timeout=WAIT_MS)
    expect(page.locator("#job-logs")).to_contain_text("line two", timeout=WAIT_MS)
    expect(page.locator("#result-panel")).to_contain_text('"steps": 2', timeout=WAIT_MS)
    assert page.evaluate("window.notReloaded") is True


def test_a_dead_job_is_retried_from_the_dead_letters_and_a_user_is_refused(
    page: Any, browser: Any, node: Node, tmp_path: Path
) -> None:
    fix = tmp_path / "fixed"
    flaky = {"type": "ui.flaky", "payload": {"fix": str(fix)}, "max_retries": 0}
    mine = node.submit("alice", flaky)
    bobs = node.submit("bob", flaky)
    node.wait_status(mine, "dead")
    node.wait_status(bobs, "dead")

    # bob sees only his own dead job, and the API's refusal when he retries it
    log_in(page, node, "bob", "#/dead")
    expect(page.locator(f'tr[data-job="{bobs}"]')).to_be_visible(timeout=WAIT_MS)
    expect(page.locator(f'tr[data-job="{mine}"]')).to_have_count(0)
    page.click(f'tr[data-job="{bobs}"] button.retry')
    expect(page.locator("#flash")).to_contain_text("role 'user' may not retry dead jobs")

    other = browser.new_context(viewport={"width": 1280, "height": 860}).new_page()
    log_in(other, node, "alice", f"#/job/{mine}")
    # the handler's traceback is on the job page, under its attempt
    expect(other.locator("#job-error")).to_contain_text("Traceback", timeout=WAIT_MS)
    expect(other.locator("#attempts-panel")).to_contain_text("not fixed yet")
    other.goto(f"{node.url}/ui#/dead")
    row = other.locator(f'tr[data-job="{mine}"]')
    expect(row).to_be_visible(timeout=WAIT_MS)
    fix.touch()
    row.locator("button.retry").click()
    expect(other.locator("#flash")).to_contain_text("retried 1 job")
    expect(row).to_have_count(0, timeout=WAIT_MS)
    node.wait_status(mine, "succeeded")
    other.context.close()


def test_jobs_are_cancelled_by_selection_and_by_filter(page: Any, node: Node) -> None:
    api = node.api("alice")
    api.post("/api/v1/types/ui.held/pause").raise_for_status()
    ids = [node.submit("alice", {"type": "ui.held"}) for _ in range(3)]
    log_in(page, node, "alice", "#/jobs?type=ui.held")
    for job in ids:
        expect(page.locator(f'tr[data-job="{job}"] .cell-status')).to_have_text("pending")
    page.check(f'tr[data-job="{ids[0]}"] input.pick')
    page.click("#cancel-selected")
    expect(page.locator("#flash")).to_contain_text("cancelled 1")
    expect(page.locator(f'tr[data-job="{ids[0]}"] .cell-status')).to_have_text("cancelled")
    expect(page.locator(f'tr[data-job="{ids[1]}"] .cell-status')).to_have_text("pending")
    page.goto(f"{node.url}/ui#/jobs?type=ui.held&status=pending")
    expect(page.locator(f'tr[data-job="{ids[1]}"]')).to_be_visible(timeout=WAIT_MS)
    page.click("#cancel-matching")
    expect(page.locator("#flash")).to_contain_text("cancelled 2")
    statuses = api.post("/api/v1/jobs/status", json={"ids": ids}).json()["jobs"]
    assert [job["status"] for job in statuses] == ["cancelled"] * 3


def test_a_schedule_is_defined_paused_and_edited_and_a_limit_set(page: Any, node: Node) -> None:
    log_in(page, node, "alice", "#/schedules")
    page.fill("#schedule-name", "nightly")
    page.fill("#schedule-cron", "0 3 * * *")
    page.fill("#schedule-job", '{"type": "noop"}')
    page.click("#schedule-save")
    row = page.locator('tr[data-schedule="nightly"]')
    expect(row).to_contain_text("0 3 * * *", timeout=WAIT_MS)
    row.locator("button.pause").click()
    expect(row).to_contain_text("paused")
    row.locator("button.edit").click()
    page.fill("#schedule-cron", "30 4 * * *")
    page.click("#schedule-save")
    expect(row).to_contain_text("30 4 * * *", timeout=WAIT_MS)
    view = node.api("alice").get("/api/v1/schedules/nightly").json()
    assert view["cron"] == "30 4 * * *"

    page.goto(f"{node.url}/ui#/limits")
    page.fill("#limit-type", "noop")
    page.fill("#limit-running", "3")
    page.click("#limit-save")
    expect(page.locator('tr[data-type="noop"]')).to_contain_text("3", timeout=WAIT_MS)
    assert node.api("alice").get("/api/v1/limits").json()["limits"][0]["max_running"] == 3
    page.locator('tr[data-type="noop"] button.danger').click()
    expect(page.locator("#flash")).to_contain_text("limit cleared on noop")


def test_the_overview_counts_live_and_is_captured(page: Any, node: Node, tmp_path: Path) -> None:
    log_in(page, node, "alice")
    expect(page.locator("#leader")).to_have_text("m1", timeout=WAIT_MS)
    expect(page.locator('tr[data-worker="m1"]')).to_be_visible()
    expect(page.locator('tr[data-master="m1"] .health')).to_have_text("ready")
    expect(page.locator("#stream-state")).to_have_text("live", timeout=WAIT_MS)
    before = int(page.locator('[data-count="succeeded"] b').inner_text())
    api = node.api("alice")
    for _ in range(6):
        answer = api.post("/api/v1/jobs/batch", json={"jobs": [{"type": "noop"}] * 10})
        answer.raise_for_status()
        time.sleep(0.4)
    expect(page.locator("#live-ended")).to_have_text("60", timeout=WAIT_MS)
    expect(page.locator('[data-count="succeeded"] b')).to_have_text(
        str(before + 60), timeout=WAIT_MS
    )
    time.sleep(1.2)  # one more redraw of the charts
    screenshot(page, tmp_path, "dashboard.png")
