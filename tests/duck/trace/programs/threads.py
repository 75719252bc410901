import threading


def worker(out, k):
    for i in range(100):
        out.append(i * k)


out = []
threads = [threading.Thread(target=worker, args=(out, k)) for k in range(3)]
for t in threads:
    t.start()
for t in threads:
    t.join()
print(len(out))
