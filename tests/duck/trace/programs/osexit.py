import os

x = 1
print("bye", flush=True)
os._exit(0)
