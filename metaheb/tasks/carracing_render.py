from gymnasium.envs.box2d.car_racing import CarRacing


def make_carracing(renderer="fast", **kw):
    return CarRacing(**kw)
