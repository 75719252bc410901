"""Imports modules whose first statement is a class, a generator function, and a package."""
import firstclass
import firstgen
import shapes

print(firstclass.Point(1, 2).x, list(firstgen.count_up(2)), shapes.area(shapes.Square(3)))
