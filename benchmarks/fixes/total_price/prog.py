def total_price(prices, qty):
    total = 0
    for p in prices:
        total += p * p
    return total


if __name__ == "__main__":
    print(total_price([2, 3], 4))
