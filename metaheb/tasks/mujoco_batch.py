"""A batch of MuJoCo simulations stepped, and its state copied out, in one call each.

The Ant's step is, per env: its action into ``ctrl``, then ``mj_step`` with the frame skip; then
its qpos, qvel, body positions and floor contacts into the batch's arrays. Written as a Python
loop, the bindings' calls and numpy's per-env copies cost about 4 us per env and step at batch
64 timed alone (1.1 for the step, 2.6 for the gather), against a physics step of about 370 us.
``mujoco_batch.cpp`` runs the same loop in C++ over the same ``mjModel`` and ``mjData``, calling
the ``mj_step`` of the libmujoco the bindings load (it is linked to that file), so the state is
the same, bit for bit: 0.5 and 0.6 us, and a rollout 1.03 times as fast in paired rounds
(``scripts/bench_ant_paths.py``; docs/speed.md).

Both loops step with MuJoCo's profiling timers off (``engine_timers_off``): the bindings install
a clock as the engine's timer callback with every ``MjData``, which ``mj_step`` then reads at each
of its stages, 4-5% of an Ant rollout's time here (a bare step 1.08 times as fast without it, in
paired rounds); the timers change no state, and the callback is back in place after each call.

A MuJoCo error inside a step (``mju_error``) comes back as ``mujoco.FatalError``, as from the
bindings. Once per process, the built loop is checked against the bindings' loop on a few
steps of the batch's model; where it differs, does not build, or is linked to another MuJoCo
than the bindings', a one-line notice, and the Python loop runs.
"""

from __future__ import annotations

import ctypes
import functools
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import mujoco
import numpy as np

from metaheb import native
from metaheb.errors import compiled_path_notice

SOURCE = Path(__file__).with_name("mujoco_batch.cpp")
_POINTER, _INT64 = ctypes.c_void_p, ctypes.c_int64
_STEP_ARGS = [_POINTER, _POINTER, _INT64, _POINTER, _INT64, _INT64]
_GATHER_ARGS = [_POINTER, _POINTER, _INT64, *[_POINTER] * 4, _INT64, _POINTER]


@dataclass(frozen=True)
class Simulation:
    """One env's model and data, with views of the state arrays a step writes and reads.

    Taken once per env: each attribute of an ``MjData`` builds a new array view (~0.5 us), which
    per env and step came to about 1% of the physics. The views stay valid: an env keeps its
    ``MjData`` (a reset rewrites it in place)."""

    model: mujoco.MjModel
    data: mujoco.MjData
    frame_skip: int
    ctrl: np.ndarray
    qpos: np.ndarray
    qvel: np.ndarray
    xpos: np.ndarray
    addresses: tuple[int, int]  # the mjModel's and mjData's, for the built loop

    @property
    def contact(self) -> Any:
        return self.data.contact  # its length is this step's contact count: read it each step

    @classmethod
    def of(cls, model: mujoco.MjModel, data: mujoco.MjData, frame_skip: int) -> Simulation:
        addresses = (model._address, data._address)
        return cls(model, data, frame_skip, data.ctrl, data.qpos, data.qvel, data.xpos, addresses)


class FeetOnFloor(Protocol):
    """What the contact test needs of the observation (``AntObservation``)."""

    floor: int
    foot_slot: np.ndarray  # (2 ngeom,) contiguous int64: each geom's foot, 4 for none


@functools.cache
def _library() -> ctypes.CDLL | None:
    """The built library, or None (with a notice) where it does not build or load, or is linked
    to another MuJoCo than the bindings'."""
    folder = Path(mujoco.__file__).parent
    shared = sorted(folder.glob("libmujoco.so*"))
    if not shared or not (folder / "include" / "mujoco" / "mujoco.h").exists():
        _notice("the mujoco package has no headers or shared library to build against")
        return None
    # Linked by file name with its folder as the run path: the very libmujoco the bindings load.
    include, library_file = folder / "include", shared[-1].name
    extra = (f"-I{include}", f"-L{folder}", f"-l:{library_file}", f"-Wl,-rpath,{folder}")
    try:
        library = ctypes.CDLL(str(native.build(SOURCE, extra=extra)))
    except native.BUILD_ERRORS as error:
        _notice(f"it does not build here ({native.build_error_line(error)})")
        return None
    if library.linked_version() != mujoco.mj_version():
        _notice(f"it links MuJoCo {library.linked_version()}, the bindings {mujoco.mj_version()}")
        return None
    for name, argtypes in (("step_batch", _STEP_ARGS), ("gather_state", _GATHER_ARGS)):
        function = getattr(library, name)
        function.restype, function.argtypes = ctypes.c_int64, argtypes
    library.last_error.restype = ctypes.c_char_p
    return library


def _notice(why: str) -> None:
    compiled_path_notice("the built MuJoCo batch loop", why, "the Python loop over envs")


@functools.cache
def _timer_callback() -> ctypes.c_void_p | None:
    """libmujoco's ``mjcb_time``, the engine's timer callback, or None where the bindings'
    library is not found."""
    shared = sorted(Path(mujoco.__file__).parent.glob("libmujoco.so*"))
    if not shared:
        return None
    try:
        return ctypes.c_void_p.in_dll(ctypes.CDLL(str(shared[-1])), "mjcb_time")
    except (OSError, ValueError):
        return None


@contextmanager
def engine_timers_off() -> Iterator[None]:
    """MuJoCo's profiling timers off inside the block (no time is added to ``mjData.timer``), and
    whatever timer callback was installed back after it."""
    callback = _timer_callback()
    if callback is None:
        yield
        return
    installed = callback.value
    callback.value = None
    try:
        yield
    finally:
        callback.value = installed


def _pointers(simulations: Sequence[Simulation]) -> tuple[np.ndarray, np.ndarray]:
    """The batch's mjModel and mjData pointers, as two arrays for the C++ side."""
    addresses = np.array([s.addresses for s in simulations], dtype=np.uintp)
    return np.ascontiguousarray(addresses[:, 0]), np.ascontiguousarray(addresses[:, 1])


def step_built(simulations: Sequence[Simulation], actions: np.ndarray) -> None:
    """Each simulation's action row into its ``ctrl``, then ``mj_step`` with its frame skip (the
    batch shares one), by the built loop."""
    actions = np.ascontiguousarray(actions, dtype=np.float64)
    models, datas = _pointers(simulations)
    with engine_timers_off():
        failed = _library().step_batch(
            models.ctypes.data,
            datas.ctypes.data,
            len(simulations),
            actions.ctypes.data,
            actions.shape[1],
            simulations[0].frame_skip,
        )
    if failed:
        raise mujoco.FatalError(_library().last_error().decode(errors="replace"))


def step_python(simulations: Sequence[Simulation], actions: np.ndarray) -> None:
    """``step_built``'s loop, through the bindings."""
    with engine_timers_off():
        for simulation, action in zip(simulations, actions):
            simulation.ctrl[:] = action
            mujoco.mj_step(simulation.model, simulation.data, nstep=simulation.frame_skip)


State = tuple[np.ndarray, np.ndarray, np.ndarray | None, np.ndarray | None]


def gather_built(simulations: Sequence[Simulation], feet: FeetOnFloor | None) -> State:
    """The batch's qpos (n, nq), qvel (n, nv) and, with ``feet``, body positions (n, nbody, 3)
    and the feet touching the floor (n, 4), copied by the built loop."""
    count, model = len(simulations), simulations[0].model
    qpos, qvel = np.empty((count, model.nq)), np.empty((count, model.nv))
    xpos = contacts = None
    if feet is not None:
        xpos, contacts = np.empty((count, model.nbody, 3)), np.empty((count, 4))
    models, datas = _pointers(simulations)
    _library().gather_state(
        models.ctypes.data,
        datas.ctypes.data,
        count,
        qpos.ctypes.data,
        qvel.ctypes.data,
        None if xpos is None else xpos.ctypes.data,
        None if contacts is None else contacts.ctypes.data,
        -1 if feet is None else feet.floor,
        None if feet is None else feet.foot_slot.ctypes.data,
    )
    return qpos, qvel, xpos, contacts


def gather_python(simulations: Sequence[Any], feet: FeetOnFloor | None) -> State:
    """``gather_built``'s arrays, stacked by numpy from each env's views. ``simulations``: each
    a ``Simulation``, or anything with its ``qpos``, ``qvel``, ``xpos`` and ``contact`` (an
    ``MjData``)."""
    qpos = np.array([s.qpos for s in simulations])
    qvel = np.array([s.qvel for s in simulations])
    if feet is None:
        return qpos, qvel, None, None
    xpos = np.array([s.xpos for s in simulations])
    return qpos, qvel, xpos, foot_contacts([s.contact.geom for s in simulations], feet)


def foot_contacts(pairs: list[np.ndarray], feet: FeetOnFloor) -> np.ndarray:
    """``(n, 4)``: 1.0 for each foot touching the floor, from each env's contact geom pairs
    (``data.contact.geom``) in the feet's order."""
    counts = [len(pair) for pair in pairs]
    geoms = np.concatenate(pairs)
    owner = np.repeat(np.arange(len(pairs)), counts)
    touching = (geoms[:, 0] == feet.floor) | (geoms[:, 1] == feet.floor)
    # The other geom of each floor contact, as a foot's slot (4: not a foot).
    slot = feet.foot_slot[(geoms[:, 0] + geoms[:, 1] - feet.floor)[touching]]
    found = np.zeros((len(pairs), 5))
    found[owner[touching], slot] = 1.0
    return found[:, :4]


_verdict: dict[str, bool] = {}  # "built": whether the built loop serves this process


def built_loop_works(model: mujoco.MjModel, frame_skip: int, feet: FeetOnFloor | None) -> bool:
    """Whether the built loop serves here: it builds, links the bindings' MuJoCo, and steps and
    gathers two simulations of ``model`` to the bindings' loop's bits. Checked once per process
    (a one-line notice where it does not serve)."""
    if "built" not in _verdict:
        same = _library() is not None and _same_bits(model, frame_skip, feet)
        if _library() is not None and not same:
            _notice("its state differs from the bindings' loop")
        _verdict["built"] = same
    return _verdict["built"]


def _same_bits(model: mujoco.MjModel, frame_skip: int, feet: FeetOnFloor | None) -> bool:
    """Both loops from the same perturbed starts, under the same random actions, for 20 steps:
    every gathered array equal, bit for bit."""
    rng = np.random.default_rng(0)
    starts = [model.qpos0 + rng.uniform(-0.1, 0.1, model.nq) for _ in range(2)]
    actions = rng.uniform(-1.0, 1.0, (20, 2, model.nu))
    runs = []
    for step, gather in ((step_python, gather_python), (step_built, gather_built)):
        batch = [Simulation.of(model, mujoco.MjData(model), frame_skip) for _ in starts]
        for simulation, start in zip(batch, starts):
            simulation.qpos[:] = start
            mujoco.mj_forward(model, simulation.data)
        states = []
        for action in actions:
            step(batch, action)
            states.extend(gather(batch, feet))
        runs.append(b"".join(array.tobytes() for array in states if array is not None))
    return runs[0] == runs[1]
