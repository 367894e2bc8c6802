"""The world model: determinism, conservation, shape of the history, clock, reorgs."""

from __future__ import annotations

import itertools
from collections import Counter

from app.simulator import Clock, ManualWall, Simulator
from app.simulator.ledger import SUPPLY_UNITS
from tests.simulator.conftest import DENSITY, START, make_sim

DAY = 86_400


def _fingerprint(sim: Simulator, chain_id: int) -> list[tuple[object, ...]]:
    head = sim.world.head(chain_id)
    logs = sim.world.logs(chain_id, 0, head)
    return [
        (log.block, log.block_hash, log.tx_hash, log.log_index, log.from_address, log.value)
        for log in logs
    ]


def test_same_seed_gives_the_same_world_and_another_seed_does_not() -> None:
    first, second, other = make_sim(), make_sim(), make_sim(seed=8)
    for chain_id in (137, 25):
        assert _fingerprint(first, chain_id) == _fingerprint(second, chain_id)
        assert first.world.balances(chain_id) == second.world.balances(chain_id)
        assert _fingerprint(first, chain_id) != _fingerprint(other, chain_id)
    assert first.truth(1) == second.truth(1)


def test_history_does_not_depend_on_query_order() -> None:
    forward, backward = make_sim(), make_sim()
    head = forward.world.head(56)
    for lo in range(0, head, head // 5):
        list(forward.world.logs(56, lo, lo + head // 5))
    backward.world.balances(56)
    assert _fingerprint(forward, 56) == _fingerprint(backward, 56)


def test_supply_is_conserved_and_no_balance_is_negative(shared_sim: Simulator) -> None:
    world = shared_sim.world
    for chain_id in world.chains:
        units = world.ledgers[chain_id].balances_at(world.head(chain_id))
        assert min(units) >= 0
        assert sum(units) == SUPPLY_UNITS
        rows = world.balances(chain_id)
        assert sum(balance for _, balance in rows) == world.supply(chain_id)
        assert world.holder_count(chain_id) == len(rows) > 10
        truth = shared_sim.truth(chain_id, "summary")
        assert truth["sumOfBalances"] == truth["supply"] == str(world.supply(chain_id))


def test_replaying_the_logs_reproduces_the_balances(shared_sim: Simulator) -> None:
    world = shared_sim.world
    balances: Counter[str] = Counter()
    for log in world.logs(137, 0, world.head(137), erc20_only=True):
        balances[log.from_address] -= log.value
        balances[log.to_address] += log.value
    zero = "0x" + "0" * 40
    assert balances.pop(zero) == -world.supply(137)
    assert {a: b for a, b in balances.items() if b} == dict(world.balances(137))


def test_holders_are_heavy_tailed(shared_sim: Simulator) -> None:
    rows = shared_sim.world.balances(137)
    supply = shared_sim.world.supply(137)
    top_tenth = sum(balance for _, balance in rows[: len(rows) // 10])
    bottom_half = sum(balance for _, balance in rows[len(rows) // 2 :])
    assert top_tenth > supply // 2  # the top 10% hold most of it
    assert bottom_half < supply // 20  # the bottom half hold under 5%
    assert rows[len(rows) // 2][1] < rows[0][1] // 1000


def test_history_spans_at_least_120_days_and_busy_chains_are_busier(shared_sim: Simulator) -> None:
    world = shared_sim.world
    counts = {}
    for chain_id in world.chains:
        first = next(world.logs(chain_id, 0, world.head(chain_id)))
        assert START - first.timestamp >= 120 * DAY
        assert first.from_address == "0x" + "0" * 40  # the mint
        counts[chain_id] = world.count_logs(chain_id, 0, world.head(chain_id))
    assert counts[137] == max(counts.values())
    assert counts[25] == min(counts.values())


def test_some_transactions_carry_several_transfers_and_some_logs_are_erc721(
    shared_sim: Simulator,
) -> None:
    world = shared_sim.world
    logs = list(world.logs(137, 0, world.head(137)))
    per_tx = Counter(log.tx_hash for log in logs if not log.erc721)
    assert any(n >= 2 for n in per_tx.values())
    nft = [log for log in logs if log.erc721]
    assert 0.002 < len(nft) / len(logs) < 0.05
    assert all(len(log.topics) == 4 and log.data == "0x" for log in nft)
    assert all(len(log.topics) == 3 and len(log.data) == 66 for log in logs if not log.erc721)
    keys = [(log.block, log.log_index) for log in logs]
    assert keys == sorted(keys)
    assert len(set(keys)) == len(keys)


def test_the_head_follows_the_accelerated_clock() -> None:
    wall = ManualWall(START)
    sim = Simulator(seed=1, clock=Clock(start=START, wall=wall, speed=60), density=DENSITY)
    head = sim.world.head(1)
    wall.tick(12)  # 12 real seconds at 60x = 720 simulated seconds = 60 Ethereum blocks
    assert sim.world.head(1) == head + 60
    assert sim.world.head(42161) - sim.world.timelines[42161].block_at(START) == 2880
    sim.clock.set_speed(0)
    frozen = sim.world.head(1)
    wall.tick(100)
    assert sim.world.head(1) == frozen


def test_new_blocks_bring_new_transfers_in_real_time() -> None:
    wall = ManualWall(START)
    sim = Simulator(seed=3, clock=Clock(start=START, wall=wall, speed=3600), density=1.0)
    before = sim.world.count_logs(137, 0, sim.world.head(137))
    wall.tick(24)  # one simulated day
    assert sim.world.count_logs(137, 0, sim.world.head(137)) > before + 100


def test_reorg_changes_hashes_above_the_fork_point_only(sim: Simulator) -> None:
    world = sim.world
    head = world.head(1)
    before = {n: world.block(1, n).hash for n in range(head - 10, head + 1)}
    result = sim.reorg(1, 4)
    assert result["forkPoint"] == head - 4
    assert result["oldHeadHash"] != result["newHeadHash"]
    after = {n: world.block(1, n).hash for n in range(head - 10, head + 1)}
    for n in range(head - 10, head + 1):
        assert (after[n] != before[n]) is (n > head - 4), n
    assert world.block(1, head - 3).parent_hash == after[head - 4]
    units = world.ledgers[1].balances_at(world.head(1))
    assert sum(units) == SUPPLY_UNITS
    assert min(units) >= 0


def test_reorg_replaces_the_logs_above_the_fork(sim: Simulator) -> None:
    world = sim.world
    head = world.head(137)
    lo = head - 20_000
    old = {(log.block, log.tx_hash, log.block_hash) for log in world.logs(137, lo, head)}
    sim.reorg(137, 10_000)
    new = {(log.block, log.tx_hash, log.block_hash) for log in world.logs(137, lo, head)}
    fork = head - 10_000
    assert {x for x in old if x[0] <= fork} == {x for x in new if x[0] <= fork}
    above_old, above_new = {x for x in old if x[0] > fork}, {x for x in new if x[0] > fork}
    assert above_old
    assert above_new
    assert not above_old & above_new


def test_a_million_transfers_fit_in_compact_columns() -> None:
    sim = make_sim(density={137: 3_500_000 / 290})  # ~3.5 M transfers over the history
    ledger = sim.world.ledgers[137]
    upto = sim.world.timelines[137].block_at(START - 275 * DAY)
    ledger.ensure(upto)
    assert len(ledger.blk) > 100_000
    per_log = sum(col.itemsize for col in (ledger.blk, ledger.txi, ledger.logi, ledger.src,
                                           ledger.dst, ledger.val, ledger.kind))  # fmt: skip
    assert per_log <= 36
    assert len(list(itertools.islice(sim.world.logs(137, 0, upto), 3))) == 3
