def percent(part, whole):
    return 100 * part / whole

def ratio_text(part, whole):
    return f"{percent(whole, part):.1f}%"


if __name__ == "__main__":
    print(ratio_text(1, 4))
