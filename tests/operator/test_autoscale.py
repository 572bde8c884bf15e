"""target_utilization: fast up, slow down, within min/max — from the routers' own figures."""

from __future__ import annotations

from mlk.operator.autoscale import SCALE_DOWN_PERIODS, Settings, decide, load_from_metrics, utilization

SETTINGS = Settings(min_instances=1, max_instances=5, target=0.7, polling_interval=1.0)


def test_scales_up_at_once_to_bring_utilization_back_to_target() -> None:
    # 2 replicas, both busy and 2 queued: utilization 2.0 → ceil(2 * 2.0 / 0.7) = 6 → max 5
    assert decide(2, 2.0, SETTINGS, now=0, low_since=None).replicas == 5
    assert decide(2, 0.8, SETTINGS, now=0, low_since=None).replicas == 3  # ceil(2.29)


def test_scales_down_only_after_staying_low() -> None:
    state = decide(4, 0.1, SETTINGS, now=100, low_since=None)
    assert state.replicas == 4 and state.low_since == 100
    almost = decide(4, 0.1, SETTINGS, now=100 + SCALE_DOWN_PERIODS - 1, low_since=state.low_since)
    assert almost.replicas == 4
    done = decide(4, 0.1, SETTINGS, now=100 + SCALE_DOWN_PERIODS, low_since=state.low_since)
    assert done.replicas == 1 and done.low_since is None


def test_a_busy_moment_resets_the_scale_down_clock() -> None:
    low = decide(4, 0.1, SETTINGS, now=0, low_since=None)
    busy = decide(4, 0.7, SETTINGS, now=10, low_since=low.low_since)
    assert busy.replicas == 4 and busy.low_since is None


def test_min_and_max_win() -> None:
    assert decide(9, 0.7, SETTINGS, now=0, low_since=None).replicas == 5
    assert decide(0, 0.0, SETTINGS, now=0, low_since=None).replicas == 1
    assert Settings.of({"min_instances": 2, "max_instances": 4}).target == 0.7  # Azure's default 70 %


ROUTER_A = """# TYPE mlk_router_in_flight gauge
mlk_router_in_flight{endpoint="my-ep",deployment="blue"} 3
mlk_router_in_flight{endpoint="my-ep",deployment="green"} 9
mlk_router_queue_depth{endpoint="my-ep",deployment="blue"} 1
"""
ROUTER_B = """mlk_router_in_flight{endpoint="my-ep",deployment="blue"} 2
mlk_router_queue_depth{endpoint="my-ep",deployment="blue"} 0
"""


def test_load_adds_up_every_router() -> None:
    assert load_from_metrics([ROUTER_A, ROUTER_B], "my-ep", "blue") == (5.0, 1.0)
    # 5 in flight at concurrency 2 on 3 replicas: 2.5 busy + 1 queued → (2.5 + 1) / 3
    assert abs(utilization(5, 1, 3, 2) - 3.5 / 3) < 1e-9
    assert utilization(50, 0, 3, 1) == 1.0  # busy replicas cap at the replica count
    assert utilization(1, 0, 0, 1) == 0.0


def test_router_metrics_page_is_what_the_autoscaler_parses() -> None:
    """The real router's exposition format, not a hand-written one."""
    from mlk.router.config import DeploymentConfig, EndpointConfig, RouterConfig
    from mlk.router.metrics import RouterMetrics
    from mlk.router.state import build

    state = build(
        RouterConfig(
            {"my-ep": EndpointConfig("my-ep", deployments={"blue": DeploymentConfig("blue", ("http://a:1",))})}
        )
    )
    state.endpoints["my-ep"].deployments["blue"].in_flight = 4
    page = RouterMetrics(lambda: state).registry.render().decode()
    assert load_from_metrics([page], "my-ep", "blue") == (4.0, 0.0)
