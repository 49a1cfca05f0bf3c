"""CarRacing-v3's observation drawn straight at its own size: the fast renderer.

gymnasium draws every observation at window size (1000x800) with pure-Python pygame calls, one
polygon at a time, and then box-filters the window down to 96x96 (``pygame.transform
.smoothscale``): about 97% of a step. This module draws the same scene in the same order onto a
small canvas, ``SUPERSAMPLE`` times the observation in each direction, and area-averages it down
to 96x96, which stands in for gymnasium's anti-aliased edges and box filter:

1. the field (background colour) and the grass patches, then the road tiles and kerbs, with the
   camera of ``CarRacing._render``: zoom animated over the first second, the view rotated by
   minus the hull's angle, the car at (1/2, 3/4) of the frame after the vertical flip;
2. the car in state-pixels mode: the four wheels (with the grey stripe that shows their phase),
   then the hull's four polygons; no skid particles, as in gymnasium's observation;
3. the indicator bar: speed, the four ABS sensors, steering and angular velocity; the score
   digits, which gymnasium writes with a TrueType font, are left out (they sit in the bottom
   12 rows, which the paper's 84x84 crop removes anyway);
4. the 2 levels that pygame's smoothscale loses to truncation on every colour.

Speed comes from doing per frame only what the frame needs: every polygon vertex of the track
and the grass is transformed at once with numpy, polygons off the canvas are culled by their
bounding boxes, and OpenCV fills each colour's visible polygons in one call (fixed-point
vertices, so subpixel positions survive). Tile colours change when the car first touches a
tile (gymnasium writes the road colour into the tile's own array); the tiles' arrays are made
views of one (n, 3) array at track creation, so the renderer reads every tile's current colour
with no Python loop.

Fidelity against gymnasium's frames is measured by ``scripts/bench_carracing.py --fidelity`` and
bounded in ``tests/test_carracing_render.py``.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import cv2
import numpy as np
from gymnasium.envs.box2d import car_dynamics
from gymnasium.envs.box2d.car_racing import (
    GRASS_DIM,
    PLAYFIELD,
    SCALE,
    STATE_H,
    STATE_W,
    WINDOW_H,
    WINDOW_W,
    ZOOM,
    CarRacing,
)

SUPERSAMPLE = 2
SHIFT = 4  # fractional bits of OpenCV's fixed-point vertices
SMOOTHSCALE_LOSS = 2
_CANVAS_W, _CANVAS_H = STATE_W * SUPERSAMPLE, STATE_H * SUPERSAMPLE
# Window pixels -> canvas pixels (the window's aspect ratio is not the observation's).
_SX, _SY = _CANVAS_W / WINDOW_W, _CANVAS_H / WINDOW_H
_CORNERS = ((0, 0), (_CANVAS_W, 0), (0, _CANVAS_H), (_CANVAS_W, _CANVAS_H))


def _grass_quads() -> np.ndarray:
    """The grass patches of ``CarRacing._render_road``: (20, 20, 4, 2) world coordinates, the
    patch at grid column i and row j at [i, j] (every other cell of a 40 x 40 grid)."""
    quads = [
        [
            [
                (GRASS_DIM * x + GRASS_DIM, GRASS_DIM * y),
                (GRASS_DIM * x, GRASS_DIM * y),
                (GRASS_DIM * x, GRASS_DIM * y + GRASS_DIM),
                (GRASS_DIM * x + GRASS_DIM, GRASS_DIM * y + GRASS_DIM),
            ]
            for y in range(-20, 20, 2)
        ]
        for x in range(-20, 20, 2)
    ]
    return np.array(quads, dtype=np.float64)


_GRASS = _grass_quads()


def _visible_grass(camera: Camera) -> np.ndarray:
    """The patches that meet the world box the canvas shows, found on the grid: (n, 4, 2)."""

    def cells(low: float, high: float) -> slice:
        # Patch k spans [GRASS_DIM (2k - 20), GRASS_DIM (2k - 19)].
        first = math.ceil((low / GRASS_DIM + 19) / 2)
        last = math.floor((high / GRASS_DIM + 20) / 2)
        return slice(min(max(first, 0), 20), min(max(last + 1, 0), 20))

    columns = cells(camera.low[0], camera.high[0])
    rows = cells(camera.low[1], camera.high[1])
    return _GRASS[columns, rows].reshape(-1, 4, 2)


class Camera:
    """World -> canvas pixels for one frame: ``CarRacing._render``'s transform, then the flip."""

    def __init__(self, env: CarRacing) -> None:
        zoom = 0.1 * SCALE * max(1 - env.t, 0) + ZOOM * SCALE * min(env.t, 1)
        angle = -env.car.hull.angle
        cos, sin = math.cos(angle), math.sin(angle)
        x, y = env.car.hull.position
        # p_window = zoom R(angle) (p - car) + (W/2, H/4); canvas: flip y, scale each axis.
        # Scalar arithmetic: a 2x2 matrix is too small for numpy to pay off.
        a, b = zoom * cos * _SX, -zoom * sin * _SX
        c, d = -zoom * sin * _SY, -zoom * cos * _SY
        u0 = WINDOW_W / 2 * _SX - (a * x + b * y)
        v0 = (WINDOW_H - WINDOW_H / 4) * _SY - (c * x + d * y)
        self.matrix = np.array([[a, b], [c, d]])
        self.offset = np.array([u0, v0])
        self._affine = (a, b, c, d, u0, v0)
        # The world box the canvas shows (a rotated view: the box around its four corners).
        det = a * d - b * c
        xs = [(d * (u - u0) - b * (v - v0)) / det for u, v in _CORNERS]
        ys = [(a * (v - v0) - c * (u - u0)) / det for u, v in _CORNERS]
        self.low = np.array([min(xs), min(ys)])
        self.high = np.array([max(xs), max(ys)])

    def __call__(self, points: np.ndarray) -> np.ndarray:
        """(..., 2) world coordinates -> (..., 2) canvas pixels."""
        return points @ self.matrix.T + self.offset

    def place(self, body) -> Callable[[list], list[tuple[int, int]]]:
        """The map from ``body``'s coordinates to OpenCV's fixed-point canvas vertices:
        canvas = M (R(angle) p + position) + offset = (M R) p + (M position + offset)."""
        a, b, c, d, u0, v0 = self._affine
        cos, sin = math.cos(body.angle), math.sin(body.angle)
        x, y = body.position
        f = 1 << SHIFT
        m00, m01 = (a * cos + b * sin) * f, (b * cos - a * sin) * f
        m10, m11 = (c * cos + d * sin) * f, (d * cos - c * sin) * f
        du, dv = (a * x + b * y + u0) * f, (c * x + d * y + v0) * f
        return lambda polygon: [
            (round(m00 * px + m01 * py + du), round(m10 * px + m11 * py + dv)) for px, py in polygon
        ]

    def inside_field(self) -> bool:
        """Whether the whole canvas shows the field."""
        return bool(max(-self.low.min(), self.high.max()) < PLAYFIELD)


class Shapes:
    """Fixed world polygons (n, k, 2) with their bounding boxes, for culling before transforming."""

    def __init__(self, polygons: np.ndarray) -> None:
        self.polygons = polygons
        self.low, self.high = polygons.min(axis=1), polygons.max(axis=1)

    def visible(self, camera: Camera) -> np.ndarray:
        """Indices of the polygons whose box meets the world box the canvas shows (a superset)."""
        meets = (self.high >= camera.low) & (self.low <= camera.high)
        return np.flatnonzero(meets[:, 0] & meets[:, 1])


def _fixed(polygons: np.ndarray) -> np.ndarray:
    """Canvas coordinates -> OpenCV's fixed-point vertices (``SHIFT`` fractional bits)."""
    return np.rint(polygons * (1 << SHIFT)).astype(np.int32)


def _fill(canvas: np.ndarray, polygons: np.ndarray, color) -> None:
    """Fill (n, k, 2) canvas polygons with one colour, at subpixel precision."""
    if len(polygons):
        cv2.fillPoly(
            canvas, list(_fixed(polygons)), tuple(int(c) for c in color), cv2.LINE_8, SHIFT
        )


_RGB_CODE = np.array([1 << 16, 1 << 8, 1])
_FIELD = np.array(
    [
        [
            (PLAYFIELD, PLAYFIELD),
            (PLAYFIELD, -PLAYFIELD),
            (-PLAYFIELD, -PLAYFIELD),
            (-PLAYFIELD, PLAYFIELD),
        ]
    ]
)


class Track:
    """The road polygons of one track as arrays, and its tiles' live colours.

    gymnasium draws the road polygon by polygon: tile i, then its kerb if it has one. Tiles only
    share edges with their neighbours and kerbs lie outside the road, so filling the visible
    polygons one colour at a time (one OpenCV call per colour) paints the same pixels but along
    those shared edges (measured in the fidelity figures).
    """

    def __init__(self, env: CarRacing) -> None:
        polygons, colors = zip(*env.road_poly)
        self.shapes = Shapes(np.array(polygons, dtype=np.float64))  # (n, 4, 2)
        self.colors = np.array(colors, dtype=np.float64)  # (n, 3); the tiles' rows are live
        # The tiles' colour arrays become views of self.colors: the contact listener's in-place
        # write of the road colour (a visited tile) lands here.
        tile_of = {id(tile.color): tile for tile in env.road}
        for k, color in enumerate(colors):
            if id(color) in tile_of:
                tile_of[id(color)].color = self.colors[k]
        self.background = np.empty((_CANVAS_H, _CANVAS_W, 3), dtype=np.uint8)
        self.background[:] = tuple(int(c) for c in env.bg_color)

    def draw(self, canvas: np.ndarray, camera: Camera) -> None:
        shown = self.shapes.visible(camera)
        if not len(shown):
            return
        fixed = _fixed(camera(self.shapes.polygons[shown]))
        # gymnasium draws int(c) of each channel: one 24-bit code per polygon; sorting by code
        # makes each colour's polygons one slice, filled in one call.
        codes = self.colors[shown].astype(np.int64) @ _RGB_CODE
        order = np.argsort(codes, kind="stable")
        codes, fixed = codes[order], fixed[order]
        starts = [0, *(np.flatnonzero(codes[1:] != codes[:-1]) + 1).tolist()]
        for start, end in zip(starts, [*starts[1:], len(codes)]):
            code = int(codes[start])
            color = (code >> 16, (code >> 8) & 255, code & 255)
            cv2.fillPoly(canvas, fixed[start:end], color, cv2.LINE_8, SHIFT)


class CarShapes:
    """A car's polygons in body coordinates, read once from Box2D (they never change).

    A frame composes each body's pose with the camera into one affine map per body and places
    the body's few vertices with it in plain arithmetic: the car has 36 vertices (and up to 16
    of stripes), too few for numpy's per-call cost, which between physics steps is paid cold.
    """

    def __init__(self, car: car_dynamics.Car) -> None:
        self.car = car
        self.bodies = [*car.wheels, car.hull]
        self.wheels = [[tuple(v) for v in w.fixtures[0].shape.vertices] for w in car.wheels]
        self.hull = [[tuple(v) for v in f.shape.vertices] for f in car.hull.fixtures]
        self.hull_color = tuple(int(c * 255) for c in car.hull.color)
        self.wheel_color = tuple(int(c * 255) for c in car.wheels[0].color)

    def draw(self, canvas: np.ndarray, camera: Camera) -> None:
        """``Car.draw`` without particles: wheels, their phase stripes, then the hull.

        The wheels never overlap one another, so drawing all wheels before all stripes paints
        what gymnasium's wheel-by-wheel order paints; the hull overlaps the rear wheels and
        comes last, as in gymnasium.
        """
        places = [camera.place(body) for body in self.bodies]
        wheels = [place(polygon) for place, polygon in zip(places, self.wheels)]
        cv2.fillPoly(canvas, np.array(wheels, np.int32), self.wheel_color, cv2.LINE_8, SHIFT)
        stripes = _wheel_stripes([wheel.phase for wheel in self.car.wheels])
        if stripes:
            bands = np.array([places[k](band) for k, band in stripes], np.int32)
            cv2.fillPoly(canvas, bands, car_dynamics.WHEEL_WHITE, cv2.LINE_8, SHIFT)
        hull = [np.array(places[4](polygon), np.int32) for polygon in self.hull]
        cv2.fillPoly(canvas, hull, self.hull_color, cv2.LINE_8, SHIFT)


def _wheel_stripes(phases: list[float]) -> list[tuple[int, list[tuple[float, float]]]]:
    """The grey bands that show the wheels' phases (``Car.draw``): (wheel, band in the wheel's
    coordinates) for each wheel that shows one."""
    w = car_dynamics.WHEEL_W * car_dynamics.SIZE
    r = car_dynamics.WHEEL_R * car_dynamics.SIZE
    stripes = []
    for k, phase in enumerate(phases):
        s1, s2 = math.sin(phase), math.sin(phase + 1.2)
        if s1 > 0 and s2 > 0:
            continue
        c1, c2 = math.cos(phase), math.cos(phase + 1.2)
        c1 = math.copysign(1.0, c1) if s1 > 0 else c1
        c2 = math.copysign(1.0, c2) if s2 > 0 else c2
        stripes.append((k, [(-w, r * c1), (w, r * c1), (w, r * c2), (-w, r * c2)]))
    return stripes


def _draw_indicators(canvas: np.ndarray, env: CarRacing) -> None:
    """``CarRacing._render_indicators``: the bar and its gauges, all axis-aligned boxes, each
    filled where the centres of its pixels lie (window coordinates rounded to the canvas).
    Plain arithmetic: seven boxes are too few for numpy to pay off."""
    canvas[_BAR_TOP:] = 0
    car = env.car
    wheels = car.wheels
    # gymnasium tests each gauge's source value, then draws the scaled one.
    gauges = [(5, math.hypot(*car.hull.linearVelocity), 0.02)]
    gauges += [(7 + k, wheel.omega, 0.01) for k, wheel in enumerate(wheels)]
    for (place, value, gain), color in zip(gauges, _VERTICAL_COLORS):
        if abs(value) > 1e-4:
            left, right = _GAUGE_COLUMNS[place]
            _fill_rows(canvas, left, right, _H_ - (_h + _h * gain * value), _H_ - _h, color)
    bars = [(20, -10.0 * wheels[0].joint.angle), (30, -0.8 * car.hull.angularVelocity)]
    for (place, value), color in zip(bars, _HORIZONTAL_COLORS):
        if abs(value) > 1e-4:
            left, right = sorted((round(place * _S * _SX), round((place + value) * _S * _SX)))
            _fill_rows(canvas, left, right, _H_ - 4 * _h, _H_ - 2 * _h, color)


def _fill_rows(canvas: np.ndarray, left: int, right: int, y0: float, y1: float, color) -> None:
    """Fill canvas columns left..right-1 between window rows y0 and y1 (either order)."""
    top, bottom = sorted((round(y0 * _SY), round(y1 * _SY)))
    if right > left and bottom > top:  # OpenCV's corners are inclusive
        cv2.rectangle(canvas, (left, top), (right - 1, bottom - 1), color, cv2.FILLED)


_S, _h, _H_ = WINDOW_W / 40.0, WINDOW_H / 40.0, WINDOW_H
_BAR_TOP = round((WINDOW_H - 5 * _h) * _SY)
_GAUGE_COLUMNS = {
    place: (round(place * _S * _SX), round((place + 1) * _S * _SX)) for place in range(5, 11)
}
_VERTICAL_COLORS = [(255, 255, 255), (0, 0, 255), (0, 0, 255), (51, 0, 255), (51, 0, 255)]
_HORIZONTAL_COLORS = [(0, 255, 0), (255, 0, 0)]


def render_state(env: CarRacing, track: Track, canvas: np.ndarray) -> np.ndarray:
    """The 96x96x3 uint8 observation of ``env`` now (``canvas``: a reusable work buffer)."""
    camera = Camera(env)
    if camera.inside_field():
        np.copyto(canvas, track.background)  # a numpy fill with a colour is ~50x slower
    else:  # near the playfield's edge, or zoomed out in the first second: black beyond it
        canvas[:] = 0
        _fill(canvas, camera(_FIELD), env.bg_color)
    _fill(canvas, camera(_visible_grass(camera)), env.grass_color)
    track.draw(canvas, camera)
    if env._car_shapes is None or env._car_shapes.car is not env.car:
        env._car_shapes = CarShapes(env.car)
    env._car_shapes.draw(canvas, camera)
    _draw_indicators(canvas, env)
    frame = cv2.resize(canvas, (STATE_W, STATE_H), interpolation=cv2.INTER_AREA)
    # pygame's smoothscale truncates once per axis: a flat colour comes out 2 levels darker.
    return cv2.subtract(frame, SMOOTHSCALE_LOSS)


class FastCarRacing(CarRacing):
    """gymnasium's CarRacing-v3 whose observations come from :func:`render_state`.

    Physics, track, reward and termination are gymnasium's own; ``render()`` in ``rgb_array``
    mode (the replay's video) is still gymnasium's drawing at window size.
    """

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self._track: Track | None = None
        self._car_shapes: CarShapes | None = None
        self._canvas = np.zeros((_CANVAS_H, _CANVAS_W, 3), dtype=np.uint8)

    def _create_track(self) -> bool:
        created = super()._create_track()
        if created:
            self._track = Track(self)
        return created

    def _render(self, mode: str):
        if mode != "state_pixels" or self._track is None or "t" not in self.__dict__:
            return super()._render(mode)
        return render_state(self, self._track, self._canvas)
