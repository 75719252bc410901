"""Average of the scores above a threshold. It has a bug: try `duck run examples/average.py`."""


def above(scores, threshold):
    kept = []
    for score in scores:
        if score > threshold:
            kept.append(score)
    return kept


def average(values):
    total = 0
    for i in range(len(values) + 1):
        total += values[i]
    return total / len(values)


scores = [72, 95, 88, 41, 63]
good = above(scores, 60)
print("good scores:", good)
print("average:", average(good))
