"""The leader's soft leases: renewals in memory, the take-over grace, expiry."""

from __future__ import annotations

from actors.scheduler.leases import Leases
from transport.cluster import RunningJob


def test_a_heartbeat_renews_from_when_it_arrived() -> None:
    leases = Leases(10.0)
    leases.take_over(100.0)
    leases.heard_from("w1", 103.0)
    assert leases.deadline("w1") == 113.0 and leases.usable("w1", 112.0)
    assert not leases.usable("w1", 113.5)
    assert leases.expired_workers(113.5, ["w1"]) == ["w1"]


def test_a_new_leader_grants_everyone_a_full_lease_before_declaring_any_lost() -> None:
    leases = Leases(10.0)
    leases.take_over(100.0)
    # w1 was last heard by the previous leader long ago: still not lost before 110
    assert leases.expired_workers(109.9, ["w1"]) == []
    assert leases.expired_workers(110.1, ["w1"]) == ["w1"]
    running = [("a", 1)]
    assert leases.expired_jobs(109.9, running, lambda j: True) == []
    assert leases.expired_jobs(110.1, running, lambda j: True) == [RunningJob("a", 1)]


def test_no_work_goes_to_a_worker_this_leader_has_not_heard_from() -> None:
    leases = Leases(10.0)
    leases.take_over(100.0)
    assert not leases.usable("w1", 100.5), "it may have died with the old leader"
    leases.heard_from("w1", 101.0)
    assert leases.usable("w1", 101.0)


def test_a_job_lease_follows_its_attempt() -> None:
    leases = Leases(10.0)
    leases.take_over(0.0)
    leases.assigned("a", 2, 15.0)
    leases.renew_jobs([RunningJob("a", 2)], 12.0)
    assert leases.expired_jobs(21.0, [("a", 2)], lambda j: True) == []
    assert leases.expired_jobs(22.5, [("a", 2)], lambda j: True) == [RunningJob("a", 2)]
    # the lease of another attempt is not this attempt's: it falls back to the grace
    leases.renew_jobs([RunningJob("b", 1)], 30.0)
    assert leases.expired_jobs(31.0, [("b", 2)], lambda j: True) == [RunningJob("b", 2)]


def test_an_assignment_in_flight_keeps_its_lease_and_finished_jobs_are_forgotten() -> None:
    leases = Leases(10.0)
    leases.take_over(0.0)
    leases.assigned("pending", 1, 25.0)
    leases.assigned("done", 1, 25.0)
    leases.expired_jobs(20.0, [], lambda j: j == "pending")
    assert set(leases.jobs) == {"pending"}
    assert leases.expired_jobs(20.0, [("pending", 1)], lambda j: True) == []


def test_a_worker_declared_lost_is_not_trusted_until_it_registers_again() -> None:
    """Between the leader's decision and the loss in the log, a hello must not renew the
    worker (the loss is about to hand its jobs to others): its lease waits for the
    registration the hello proposes, applied after the loss."""
    leases = Leases(10.0)
    leases.take_over(0.0)
    leases.heard_from("w1", 1.0)
    assert leases.expired_workers(11.5, ["w1"]) == ["w1"]
    leases.expire_worker("w1")
    assert leases.is_expiring("w1") and not leases.trusts("w1", 11.5)
    assert not leases.hello("w1", 11.6, [RunningJob("a", 1)], draining=False)
    assert not leases.usable("w1", 11.6) and "a" not in leases.jobs
    leases.registration_applied("w1", 40, 11.7, [], draining=False, waited=True)
    assert leases.usable("w1", 11.7) and not leases.is_expiring("w1")
    assert leases.deadline("w1") == 21.7, "the lease runs from the registration"
    assert leases.registration("w1") == 40


def test_a_registration_proposed_before_a_loss_does_not_end_it() -> None:
    """The loss comes after such a registration in the log, so the worker stays untrusted
    until a hello made after the loss registers it."""
    leases = Leases(10.0)
    leases.take_over(0.0)
    assert leases.hello("w1", 1.0, [], draining=False)
    leases.expire_worker("w1")
    leases.registration_applied("w1", 7, 1.1, [], draining=False, waited=False)
    assert leases.is_expiring("w1") and not leases.trusts("w1", 1.1)


def test_a_hello_that_writes_nothing_still_learns_the_latest_registration() -> None:
    """A worker whose answer to the hello that registered it was lost asks again; the
    leader remembers the registration's index for it (for this term and while the
    worker is known)."""
    leases = Leases(10.0)
    leases.take_over(0.0)
    assert leases.registration("w1") == 0
    leases.registration_applied("w1", 12, 1.0, [], draining=False, waited=False)
    leases.registration_applied("w1", 9, 1.0, [], draining=False, waited=False)
    assert leases.registration("w1") == 12, "a late answer does not lower it"
    leases.forget_worker("w1")
    assert leases.registration("w1") == 0
    leases.registration_applied("w1", 15, 2.0, [], draining=False, waited=False)
    leases.take_over(3.0)
    assert leases.registration("w1") == 0


def test_a_new_term_forgets_who_was_being_declared_lost() -> None:
    leases = Leases(10.0)
    leases.take_over(0.0)
    leases.expire_worker("w1")
    leases.take_over(20.0)
    assert not leases.is_expiring("w1") and leases.trusts("w1", 25.0)


def test_a_batch_is_distrusted_worker_by_worker_as_trusts_says() -> None:
    leases = Leases(10.0)
    leases.take_over(0.0)  # the unheard get a lease until 10.0
    leases.heard_from("fresh", 5.0)
    leases.heard_from("stale", 0.5)
    leases.heard_from("lost", 5.0)
    leases.expire_worker("lost")
    workers = ["fresh", "stale", "lost", "unheard"]
    for now in (9.0, 12.0, 16.0):
        expected = [w for w in workers if not leases.trusts(w, now)]
        assert leases.distrusted(workers, now) == expected
    assert leases.distrusted(workers, 12.0) == ["stale", "lost", "unheard"]
