import os


def work(tag):
    total = 0
    for i in range(3):
        total += i
    return tag, total


pid = os.fork()
if pid == 0:
    work("child")
    os._exit(0)
os.waitpid(pid, 0)
result = work("parent")
print(result)
