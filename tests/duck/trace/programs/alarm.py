import signal

ticks = 0


class Timeout(Exception):
    pass


class Box:
    def __init__(self, value):
        self.value = value

    def __repr__(self):
        return f"Box({self.value})"


def on_alarm(signum, frame):
    global ticks
    ticks += 1
    if ticks == 50:
        raise Timeout()


signal.signal(signal.SIGALRM, on_alarm)
signal.setitimer(signal.ITIMER_REAL, 0.001, 0.001)
boxes = [Box(0)]
try:
    while True:
        boxes[-1].value += 1
        if len(boxes) < 5:
            boxes.append(Box(len(boxes)))
except Timeout:
    signal.setitimer(signal.ITIMER_REAL, 0)
    print("stopped by the program's own alarm")
