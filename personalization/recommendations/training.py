"""The training pipeline: interactions, a model per kind, artifacts, precomputed lists, swap.

For every kind of ``RECOMMENDERS`` (``default``, ``buy_again``, ``similar``, ``bought_together``,
``trending``) :func:`train`

1. selects the kind's event types from the weighted interactions (:mod:`.interactions`);
2. measures offline metrics on a temporal hold-out of the last ``RECOMMENDATION_HOLDOUT_DAYS``
   (a fit on the earlier data, :func:`personalization.recsys.evaluation.evaluate`);
3. fits the model on everything and saves it (``.npz``, no pickle) into the default file
   storage, as the artifact of a new :class:`RecommenderVersion`;
4. writes the top ``RECOMMENDATION_PRECOMPUTE_SIZE`` lists into the cache under the version's
   own keys: per person, per product, or one global list kept on the version row.

Only when every kind is done are the new versions made active, in one transaction, so readers
(:mod:`.store`) switch from the old lists to the new ones at once. A failure anywhere leaves the
previous versions active, marks the run and its versions failed and deletes their artifacts.
Old artifacts beyond ``RECOMMENDATION_KEEP_VERSIONS`` per kind are pruned after a swap.
"""

from __future__ import annotations

import copy
import datetime as dt
import logging
import tempfile
import threading
import time
import traceback
from collections.abc import Callable, Hashable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
from django.core.cache import cache
from django.core.files import File
from django.db import transaction
from django.utils import timezone

from .. import recsys
from ..conf import app_settings
from ..models.recommendations import RecommenderVersion, TrainingRun
from ..recsys.evaluation import evaluate, temporal_split
from ..recsys.interactions import summarise
from . import interactions as sources
from . import store

logger = logging.getLogger(__name__)

LIST_TYPES = ("person", "product", "global")
#: People (or products) per ``recommend_many`` (``similar_items_many``) call, and cache entries
#: per ``set_many`` call.
PEOPLE_PER_BLOCK = 2_000
ENTRIES_PER_WRITE = 1_000
LOCK_KEY = f"{store.KEY_PREFIX}:training-lock"
#: The lock lives this long past the last heartbeat: a run whose process died (a killed worker)
#: blocks the next one for at most this long, however long training takes.
LOCK_SECONDS = 5 * 60
#: How often a running training renews its lock.
HEARTBEAT_SECONDS = 30
EVALUATION_K = 10

Progress = Callable[[str], None]


class TrainingError(RuntimeError):
    """Training could not run or did not finish; the previous versions stay active."""


@dataclass(frozen=True)
class KindSpec:
    """One entry of ``RECOMMENDERS``, checked and with the preset resolved."""

    kind: str
    model: str
    params: dict[str, Any]
    events: tuple[str, ...] | None
    exclude_seen: bool
    lists: str


def kind_specs(names: Iterable[str] | None = None) -> list[KindSpec]:
    """The configured kinds (or the ``names`` among them), validated.

    A preset (``default``) is expanded into its model and parameters, and EASE components get
    ``RECOMMENDATION_EASE_MAX_ITEMS`` unless they set ``max_items`` themselves.
    """
    configured = app_settings.RECOMMENDERS
    if not isinstance(configured, dict) or not configured:
        raise TrainingError("RECOMMENDERS must be a non-empty dict of kind -> configuration")
    wanted = list(configured) if names is None else list(names)
    unknown = [name for name in wanted if name not in configured]
    if unknown:
        raise TrainingError(f"unknown kind(s) {unknown}; RECOMMENDERS has {list(configured)}")
    weights = app_settings.RECOMMENDATION_EVENT_WEIGHTS
    specs = []
    for kind in wanted:
        entry = configured[kind]
        if not isinstance(entry, dict) or "model" not in entry:
            raise TrainingError(f"RECOMMENDERS[{kind!r}] needs at least a 'model'")
        model, params = str(entry["model"]), dict(entry.get("params") or {})
        if model in recsys.PRESETS:
            model, preset = recsys.PRESETS[model]
            params = {**copy.deepcopy(preset), **params}
        if model not in recsys.MODELS:
            raise TrainingError(f"RECOMMENDERS[{kind!r}]: unknown model {entry['model']!r}")
        events = entry.get("events")
        if events is not None:
            events = tuple(events)
            missing = [e for e in events if e not in weights]
            if missing:
                raise TrainingError(
                    f"RECOMMENDERS[{kind!r}] reads {missing}, which "
                    "RECOMMENDATION_EVENT_WEIGHTS does not weigh"
                )
        lists = entry.get("lists", "person")
        if lists not in LIST_TYPES:
            raise TrainingError(f"RECOMMENDERS[{kind!r}]: lists must be one of {LIST_TYPES}")
        specs.append(
            KindSpec(
                kind=kind,
                model=model,
                params=_bounded_ease(model, params),
                events=events,
                exclude_seen=store.exclude_seen(kind),
                lists=lists,
            )
        )
    return specs


def _bounded_ease(model: str, params: dict[str, Any]) -> dict[str, Any]:
    limit = app_settings.RECOMMENDATION_EASE_MAX_ITEMS
    if limit is None:
        return params
    if model == "ease":
        return {"max_items": limit, **params}
    if model == "hybrid":
        components = []
        for spec in params.get("components", ()):
            if isinstance(spec, dict):
                spec = [spec["model"], spec.get("params", {}), spec.get("weight", 1.0)]
            name, own, weight = spec
            if name == "ease":
                own = {"max_items": limit, **(own or {})}
            components.append([name, own, weight])
        return {**params, "components": components}
    return params


# -- runs -----------------------------------------------------------------------------------------


def request_run(trigger: str, requested_by: str = "") -> TrainingRun:
    """Record a queued run; the caller queues the task with its id."""
    return TrainingRun.objects.create(trigger=trigger[:32], requested_by=requested_by[:150])


@dataclass
class _Trained:
    version: RecommenderVersion
    timings: dict[str, float] = field(default_factory=dict)


def train(
    run: TrainingRun | None = None,
    *,
    kinds: Sequence[str] | None = None,
    now: dt.datetime | None = None,
    holdout_days: float | None = None,
    trigger: str = "",
    progress: Progress | None = None,
) -> TrainingRun:
    """Train the configured kinds (or ``kinds``), precompute their lists and activate them.

    ``run`` is a queued :class:`TrainingRun` (one is created when None); ``now`` is the moment
    interactions are decayed to and read back from (default: now); ``holdout_days`` overrides
    ``RECOMMENDATION_HOLDOUT_DAYS``. Returns the finished run; raises :class:`TrainingError`
    (with the run recorded as failed) when training did not complete.
    """
    say = progress or (lambda message: logger.info("%s", message))
    run = run or request_run(trigger or "call")
    if not cache.add(LOCK_KEY, run.pk, timeout=LOCK_SECONDS):
        _fail(run, [], "another training run is in progress")
        raise TrainingError(f"run {run.pk}: another training run is in progress")
    try:
        with _LockHeartbeat():
            _fail_interrupted_runs(run)
            return _train(run, kinds, now or timezone.now(), holdout_days, say)
    finally:
        cache.delete(LOCK_KEY)


class _LockHeartbeat:
    """Renews the training lock every :data:`HEARTBEAT_SECONDS` from a thread while the block
    runs, so that the lock outlives a long run but not a dead process."""

    def __enter__(self) -> None:
        self._stop = threading.Event()
        self._thread = threading.Thread(
            target=self._beat, name="personalization-training-heartbeat", daemon=True
        )
        self._thread.start()

    def __exit__(self, *exc_info: Any) -> None:
        self._stop.set()
        self._thread.join()

    def _beat(self) -> None:
        while not self._stop.wait(HEARTBEAT_SECONDS):
            try:
                cache.touch(LOCK_KEY, LOCK_SECONDS)
            except Exception:
                logger.exception("Could not renew the recommender training lock")


def _fail_interrupted_runs(current: TrainingRun) -> None:
    """Runs still marked running while this one holds the lock were interrupted (their process
    died before it could record the end): record them as failed, and their versions."""
    for run in TrainingRun.objects.filter(status=TrainingRun.RUNNING).exclude(pk=current.pk):
        _fail(run, [], "interrupted: the process running it stopped before it ended")


def _train(
    run: TrainingRun,
    kinds: Sequence[str] | None,
    now: dt.datetime,
    holdout_days: float | None,
    say: Progress,
) -> TrainingRun:
    run.status, run.started_at, run.error = TrainingRun.RUNNING, timezone.now(), ""
    run.save(update_fields=["status", "started_at", "error"])
    trained: list[_Trained] = []
    try:
        specs = kind_specs(kinds)
        started = time.perf_counter()
        data = sources.collect(now)
        catalogue = sources.read_catalogue()
        read_seconds = time.perf_counter() - started
        say(
            f"Interactions: {len(data):,} rows, {data['user_id'].nunique():,} people, "
            f"{data['item_id'].nunique():,} items; catalogue {len(catalogue):,} products "
            f"({read_seconds:.1f}s)"
        )
        if data.empty:
            raise TrainingError("no interactions to learn from (no events or orders yet)")
        summary: dict[str, Any] = {
            "interactions": summarise(data),
            "catalogue": len(catalogue),
            "seconds": {"read": round(read_seconds, 3)},
            "skipped": {},
        }
        holdout = (
            float(app_settings.RECOMMENDATION_HOLDOUT_DAYS)
            if holdout_days is None
            else float(holdout_days)
        )
        items = catalogue if len(catalogue) else None
        for spec in specs:
            frame = data if spec.events is None else data[data["event"].isin(spec.events)]
            if frame.empty:
                summary["skipped"][spec.kind] = "no interactions of its event types"
                say(f"{spec.kind}: skipped (no interactions of {list(spec.events or ())})")
                continue
            result = _train_kind(run, spec, frame, items, holdout, say)
            trained.append(result)
            summary["seconds"][spec.kind] = result.timings
        if not trained:
            raise TrainingError("no kind had interactions to learn from")
        activate([t.version for t in trained])
        summary["seconds"]["total"] = round(time.perf_counter() - started, 3)
    except Exception as exc:
        _fail(run, [t.version for t in trained], _describe(exc))
        if isinstance(exc, TrainingError):
            raise
        raise TrainingError(f"run {run.pk} failed: {exc}") from exc
    # After the swap nothing may fail the run: its versions are live.
    try:
        summary["pruned"] = prune()
    except Exception:
        logger.exception("Pruning old recommender artifacts failed; they stay for the next run")
        summary["pruned"] = 0
    run.status, run.finished_at, run.summary = TrainingRun.SUCCEEDED, timezone.now(), summary
    run.save(update_fields=["status", "finished_at", "summary"])
    say(f"Activated {', '.join(t.version.kind for t in trained)} as v{run.pk}")
    return run


def _train_kind(
    run: TrainingRun,
    spec: KindSpec,
    frame: pd.DataFrame,
    items: pd.DataFrame | None,
    holdout_days: float,
    say: Progress,
) -> _Trained:
    timings: dict[str, float] = {}
    clock = time.perf_counter()
    metrics = _offline_metrics(spec, frame, items, holdout_days)
    timings["evaluate"] = round(time.perf_counter() - clock, 3)

    clock = time.perf_counter()
    model = recsys.build(spec.model, **spec.params).fit(frame, items)
    timings["fit"] = round(time.perf_counter() - clock, 3)

    version = RecommenderVersion.objects.create(
        run=run,
        kind=spec.kind,
        label=f"v{run.pk}",
        model_name=spec.model,
        params={"params": spec.params, "events": spec.events, "exclude_seen": spec.exclude_seen},
        metrics=metrics,
        data_summary={
            **summarise(frame),
            "model_people": model.n_users,
            "model_items": model.n_items,
        },
    )
    result = _Trained(version, timings)
    clock = time.perf_counter()
    with tempfile.TemporaryDirectory() as folder:
        path = model.save(Path(folder) / f"{spec.kind}.npz")
        with path.open("rb") as handle:
            version.artifact.save(
                f"{spec.kind}-v{run.pk}-{version.pk}.npz", File(handle), save=False
            )
    timings["save"] = round(time.perf_counter() - clock, 3)

    clock = time.perf_counter()
    version.precomputed, version.global_list = precompute(version.pk, spec, model)
    timings["precompute"] = round(time.perf_counter() - clock, 3)
    version.status = RecommenderVersion.READY
    version.save(update_fields=["artifact", "precomputed", "global_list", "status"])
    shown = ", ".join(
        f"{name}@{EVALUATION_K} {metrics[name]:.4f}"
        if name != "coverage"
        else f"coverage {metrics[name]:.3f}"
        for name in ("precision", "recall", "ndcg", "map", "coverage")
        if name in metrics
    )
    say(
        f"{spec.kind} ({spec.model}): {model.n_users:,} people x {model.n_items:,} items; "
        f"{shown or metrics.get('skipped', 'no metrics')}; "
        + ", ".join(f"{step} {seconds:.1f}s" for step, seconds in timings.items())
    )
    return result


def _offline_metrics(
    spec: KindSpec, frame: pd.DataFrame, items: pd.DataFrame | None, holdout_days: float
) -> dict[str, Any]:
    """precision/recall/nDCG/MAP@10 and coverage on the last ``holdout_days`` (every test
    person counts; relevant = their interactions of the kind's event types)."""
    if holdout_days <= 0:
        return {"skipped": "evaluation switched off"}
    train, test = temporal_split(frame, test_days=holdout_days)
    if train.empty or test.empty:
        return {"skipped": f"no known person active in the last {holdout_days:g} days"}
    result = evaluate(
        recsys.build(spec.model, **spec.params),
        train,
        test,
        items=items,
        k=EVALUATION_K,
        exclude_seen=spec.exclude_seen,
        every_test_user=True,
    )
    values = result.as_dict()
    return {
        "k": EVALUATION_K,
        "holdout_days": holdout_days,
        "test_people": values["n_users"],
        **{
            name: round(float(values[name]), 6)
            for name in ("precision", "recall", "ndcg", "map", "coverage")
        },
        "fit_seconds": round(values["fit_seconds"], 3),
        "predict_seconds": round(values["predict_seconds"], 3),
    }


# -- precomputation -------------------------------------------------------------------------------


def precompute(
    version_id: int, spec: KindSpec, model: recsys.Recommender
) -> tuple[dict[str, int], list[list[Any]]]:
    """Write the version's lists into the cache; returns (counts per list type, global list)."""
    size = int(app_settings.RECOMMENDATION_PRECOMPUTE_SIZE)
    if spec.lists == "global":
        return {"global": 1}, [[str(i), s] for i, s in cold_start_list(model, size)]
    if spec.lists == "person":
        entries = _person_entries(version_id, model, size, spec.exclude_seen)
    else:
        entries = _product_entries(version_id, model, size)
    return {spec.lists: _write(entries)}, []


def cold_start_list(model: recsys.Recommender, k: int) -> list[tuple[Hashable, float]]:
    """The list the model gives a person it has never seen (for ``popular``: the trending list)."""
    nobody = object()
    return model.recommend_many([nobody], k=k)[nobody]


def _person_entries(
    version_id: int, model: recsys.Recommender, k: int, exclude_seen: bool
) -> Iterator[tuple[str, list[tuple[str, float]]]]:
    people = model.user_ids_.tolist()
    for start in range(0, len(people), PEOPLE_PER_BLOCK):
        lists = model.recommend_many(
            people[start : start + PEOPLE_PER_BLOCK], k=k, exclude_seen=exclude_seen
        )
        for person, ranking in lists.items():
            if ranking:
                yield store.person_cache_key(version_id, person), _plain(model, ranking)


def _product_entries(
    version_id: int, model: recsys.Recommender, k: int
) -> Iterator[tuple[str, list[tuple[str, float]]]]:
    items = model.item_ids_.tolist()
    for start in range(0, len(items), PEOPLE_PER_BLOCK):
        lists = model.similar_items_many(items[start : start + PEOPLE_PER_BLOCK], k=k)
        for item, ranking in lists.items():
            if ranking:
                yield store.product_cache_key(version_id, item), _plain(model, ranking)


def _plain(model: recsys.Recommender, ranking: list[tuple[Hashable, float]]) -> list[Any]:
    """The list as stored: item ids as strings (already so when the model's ids are text)."""
    if model.item_ids_.dtype == object:
        return ranking
    return [(str(item), score) for item, score in ranking]


def _write(entries: Iterable[tuple[str, Any]]) -> int:
    timeout = app_settings.RECOMMENDATION_CACHE_TIMEOUT
    written, batch = 0, {}
    for key, value in entries:
        batch[key] = value
        if len(batch) >= ENTRIES_PER_WRITE:
            cache.set_many(batch, timeout=timeout)
            written, batch = written + len(batch), {}
    if batch:
        cache.set_many(batch, timeout=timeout)
        written += len(batch)
    return written


# -- swap, prune, failure -------------------------------------------------------------------------


def activate(versions: Sequence[RecommenderVersion]) -> None:
    """Make ``versions`` the active ones of their kinds, all at once."""
    moment = timezone.now()
    with transaction.atomic():
        for version in versions:
            # Deactivate first: at most one active version per kind, even inside the transaction.
            RecommenderVersion.objects.filter(kind=version.kind, is_active=True).exclude(
                pk=version.pk
            ).update(is_active=False)
            version.is_active, version.activated_at = True, moment
            version.save(update_fields=["is_active", "activated_at"])
    store.forget_active_versions()


def prune() -> int:
    """Delete the artifacts of all but the ``RECOMMENDATION_KEEP_VERSIONS`` newest versions of
    each kind (never an active one); returns how many were pruned."""
    keep = max(1, int(app_settings.RECOMMENDATION_KEEP_VERSIONS))
    pruned = 0
    kinds = RecommenderVersion.objects.values_list("kind", flat=True).distinct()
    for kind in list(kinds):
        kept = RecommenderVersion.objects.filter(kind=kind, status=RecommenderVersion.READY)
        stale = kept.filter(is_active=False).order_by("-trained_at", "-pk")
        active = kept.filter(is_active=True).count()
        for version in stale[max(0, keep - active) :]:
            _drop_artifact(version)
            version.status = RecommenderVersion.RETIRED
            version.save(update_fields=["artifact", "status"])
            pruned += 1
    return pruned


def _drop_artifact(version: RecommenderVersion) -> None:
    if version.artifact:
        try:
            version.artifact.delete(save=False)
        except OSError:
            logger.warning("Could not delete the artifact of %s", version, exc_info=True)


def _fail(run: TrainingRun, versions: Sequence[RecommenderVersion], error: str) -> None:
    for version in versions:
        _drop_artifact(version)
        version.status = RecommenderVersion.FAILED
        version.save(update_fields=["artifact", "status"])
    # Versions created before the failure but not yet in ``versions`` (the kind that failed).
    for version in RecommenderVersion.objects.filter(run=run, status=RecommenderVersion.TRAINING):
        _drop_artifact(version)
        version.status = RecommenderVersion.FAILED
        version.save(update_fields=["artifact", "status"])
    run.status, run.finished_at, run.error = TrainingRun.FAILED, timezone.now(), error
    run.save(update_fields=["status", "finished_at", "error"])
    logger.error("Recommender training run %s failed: %s", run.pk, error)


def _describe(exc: BaseException) -> str:
    lines = traceback.format_exception_only(type(exc), exc)
    return "".join(lines).strip()[:2000]
