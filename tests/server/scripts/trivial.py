def init():
    pass


def run(data):
    return {"ok": True}
