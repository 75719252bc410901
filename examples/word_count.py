"""Count words read from standard input; prints the three most common.

Try: `echo "the cat and the hat and the bat" | duck run examples/word_count.py --plain`
"""

import sys


def count_words(text):
    counts = {}
    for word in text.lower().split():
        word = word.strip(".,;:!?\"'")
        if word:
            counts[word] = counts.get(word, 0) + 1
    return counts


def top(counts, n):
    ranked = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    return ranked[:n]


text = sys.stdin.read()
for word, count in top(count_words(text), 3):
    print(f"{word}: {count}")
