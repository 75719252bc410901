def discounted(price, pct):
    return price + price * pct / 100
