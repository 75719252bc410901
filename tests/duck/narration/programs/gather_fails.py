"""Two tasks run by gather; the second raises, and the error surfaces at the `await` in main."""
import asyncio


async def work(x):
    await asyncio.sleep(0)
    if x > 1:
        raise ValueError(f"bad {x}")
    return x


async def main():
    results = await asyncio.gather(work(1), work(2))
    return results


asyncio.run(main())
