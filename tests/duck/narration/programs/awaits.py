"""Coroutines awaiting coroutines, an async generator read by `async for`, an async comprehension."""
import asyncio


async def fetch(n):
    await asyncio.sleep(0)
    return n * 2


async def ticks(k):
    for i in range(k):
        await asyncio.sleep(0)
        yield i


async def main():
    a = await fetch(1)
    got = [t async for t in ticks(2)]
    total = 0
    async for t in ticks(3):
        total += t
    return a + sum(got) + total


print(asyncio.run(main()))
