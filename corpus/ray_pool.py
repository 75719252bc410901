"""A sample runner whose slots are Ray actors: the corpus stages on a Ray cluster.

``RayPool(workers=N, hash_seed=..., address=...)`` has the interface the stages use from
``corpus.jobs.SampleRunner`` (``run``, ``map``, ``imap``, ``close``, a context manager) but runs
each job as a task on one of N Ray actors, each of which keeps its own one-slot
``SampleRunner`` and so its own ``duck.sandbox`` fork server (the confinement, limits and hash
seed are the same as on one machine; Ray only spreads the actors over the cluster's nodes). Jobs go to whichever
actor is free (``ray.util.ActorPool``); results come back in job order. With ``address``
(or ``RAY_ADDRESS``) it joins that cluster; otherwise it starts a local Ray for the command
and shuts it down on ``close``. Every node needs this project installed.

What it is not: a scheduler of stages (the CLI still runs stages one after another) and not
imported unless ``--ray`` is given: ``ray`` is an optional extra (``semcoder-duck[corpus]``).
"""

from __future__ import annotations

import os
from dataclasses import asdict
from typing import Iterable, Iterator

from corpus.jobs import Outcome, SampleJob
from duck.errors import DuckError


def _import_ray():
    try:
        import ray
    except ImportError:
        raise DuckError("--ray needs the ray package, which is not installed",
                        "pip install 'semcoder-duck[corpus]' (or leave out --ray to use local workers)") from None
    return ray


class _SandboxActor:
    """The body of one Ray actor: a one-slot sample runner that lives as long as the actor."""

    def __init__(self, hash_seed: int | None, unsafe: bool) -> None:
        from corpus.jobs import SampleRunner

        self.pool = SampleRunner(1, hash_seed=hash_seed, unsafe=unsafe)

    def run(self, job: dict) -> dict:
        return self.pool.run(SampleJob(**job)).to_dict()

    def close(self) -> None:
        self.pool.close()


class RayPool:
    """N Ray actors, each a sandboxed slot; the ``SampleRunner`` interface."""

    def __init__(self, workers: int = 1, *, hash_seed: int | None = 0, address: str | None = None,
                 unsafe: bool = False) -> None:
        if workers < 1:
            raise ValueError("a RayPool needs at least one worker")
        ray = _import_ray()
        from ray.util import ActorPool

        self._ray = ray
        self._started_ray = False
        if not ray.is_initialized():
            address = address or os.environ.get("RAY_ADDRESS")
            try:
                if address:
                    ray.init(address=address, include_dashboard=False, log_to_driver=False)
                else:
                    # room for two pools at once (execute runs one per hash seed)
                    ray.init(num_cpus=2 * workers, include_dashboard=False, log_to_driver=False)
            except (ConnectionError, RuntimeError, ValueError) as error:
                raise DuckError(f"could not start or join Ray ({error})",
                                "check --ray-address / RAY_ADDRESS, or leave out --ray") from None
            self._started_ray = True
        actor_class = ray.remote(num_cpus=1)(_SandboxActor)
        self.size = workers
        self.hash_seed = hash_seed
        self._actors = [actor_class.remote(hash_seed, unsafe) for _ in range(workers)]
        self._pool = ActorPool(self._actors)
        self._closed = False

    def run(self, job: SampleJob) -> Outcome:
        return next(self.imap([job]))

    def map(self, jobs: Iterable[SampleJob]) -> list[Outcome]:
        return list(self.imap(jobs))

    def imap(self, jobs: Iterable[SampleJob]) -> Iterator[Outcome]:
        if self._closed:
            raise RuntimeError("the RayPool is closed")
        payloads = [asdict(job) for job in jobs]
        for reply in self._pool.map(lambda actor, payload: actor.run.remote(payload), payloads):
            yield Outcome(**reply)

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        ray = self._ray
        try:
            ray.get([actor.close.remote() for actor in self._actors], timeout=30)
        except Exception:  # noqa: BLE001 - an actor already gone has nothing left to close
            pass
        for actor in self._actors:
            ray.kill(actor)
        if self._started_ray:
            ray.shutdown()

    def __enter__(self) -> "RayPool":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
