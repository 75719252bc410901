"""An `async for` over an async generator, and a `for` in a coroutine over a generator (its header awaits)."""
import asyncio


async def agen():
    for i in range(3):
        await asyncio.sleep(0)
        yield i


async def size():
    await asyncio.sleep(0)
    return 4


def squares(n):
    for i in range(n):
        yield i * i


async def main():
    total = 0
    async for x in agen():
        total += x
    for y in squares(await size()):
        await asyncio.sleep(0)
        total += y
    return total


print(asyncio.run(main()))
