"""``VariablesPane``: the locals of the selected frame at the current step, as a tree.

Each local shows its recorded value (a safe repr); what the current step changed shows
``old -> new`` highlighted. A container, or an object recorded with its attributes
(``Node(value=3, next=None)``), can be expanded (space) into its items or attributes, read
back with ``saferepr.revive``; a value the recording cut short expands into what was recorded
whole. Long values are elided on the row and shown whole with enter / ``v``. Every row knows
its path (``node.next.value``, ``xs[0]``), which ``l`` follows back to its last change.
This pane never evaluates anything the program defined: values are the recording's text.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from rich.text import Text
from textual.widgets import Tree
from textual.strip import Strip
from textual.widgets.tree import TreeNode

from duck.narration.code import written_names
from duck.trace.saferepr import Structure, revive
from duck.widgets.lines import StyledLines
from duck.widgets.text import elide
from duck.widgets.theme import THEME_VARIABLES

ROW_WIDTH = 60
MAX_ITEMS = 200
CHANGED = f"bold {THEME_VARIABLES['duck-highlight']}"
NEW = f"bold {THEME_VARIABLES['duck-success']}"


@dataclass(frozen=True)
class ValueRef:
    """What a tree row stands for: a variable (``name``) or an item inside one, and its repr.

    ``path`` is how a watch would name the row (``node.next``, ``xs[0]``, ``d['k']``); None for a set's item.
    """

    name: str
    value: str
    label: str
    path: str | None = None


def revived(value: str):
    """``(ok, value, complete)``: the value a repr stands for (see ``saferepr.revive``), as far as it was recorded."""
    try:
        parsed, complete = revive(value, partial=True)
    except (ValueError, MemoryError, RecursionError):
        return False, None, False
    return True, parsed, complete


def _items(value) -> list[tuple[str, object]]:
    if isinstance(value, Structure):
        return [(f".{k}", v) for k, v in value.attrs.items()]
    if isinstance(value, dict):
        return [(f"[{k!r}]", v) for k, v in value.items()]
    if isinstance(value, (set, frozenset)):
        return [("·", v) for v in sorted(value, key=repr)]
    return [(f"[{i}]", v) for i, v in enumerate(value)]


def _expandable(value) -> bool:
    if isinstance(value, Structure):
        return bool(value.attrs)
    return isinstance(value, (list, tuple, dict, set, frozenset)) and len(value) > 0


def _label(name: str, value: str, change: tuple[str | None, str | None] | None) -> Text:
    label = Text()
    label.append(name, "bold")
    label.append(" = ")
    if change is not None:
        old, _new = change
        if old is None:
            label.append(elide(value, ROW_WIDTH), NEW)
            label.append("  new", f"italic {THEME_VARIABLES['duck-success']}")
        else:
            label.append(elide(old, ROW_WIDTH // 2), "strike dim")
            label.append(" -> ", CHANGED)
            label.append(elide(value, ROW_WIDTH // 2), CHANGED)
    else:
        label.append(elide(value, ROW_WIDTH))
    return label


@lru_cache(maxsize=4096)
def _can_expand(value: str) -> bool:
    """Whether a repr is a non-empty container literal (cheap checks first: most values are not).

    Cached: a step re-asks about every local, and most did not change."""
    if not value or len(value) >= 100_000 or not (value[0] in "[({" or (value[0].isidentifier() and "=" in value)):
        return False
    ok, parsed, _ = revived(value)
    return ok and _expandable(parsed)


class VariablesPane(StyledLines, Tree[ValueRef]):
    """Locals of one frame; ``show`` replaces them."""

    # No horizontal scrollbar: rows are elided (enter / v shows a value whole), and a scrollbar
    # that comes and goes with a long row would lay the screen out again on such a step.
    DEFAULT_CSS = """
    VariablesPane { background: $surface; overflow-x: hidden; }
    """

    def __init__(self, **kwargs) -> None:
        super().__init__("locals", **kwargs)
        self.show_root = False
        self.auto_expand = False
        self.guide_depth = 2
        self._shown: tuple | None = None
        self.frame_title = ""  # whose locals these are

    def render_line(self, y: int) -> Strip:
        # Tree.render_line, with the widget's style computed once per repaint (``StyledLines``).
        scroll_x, scroll_y = self.scroll_offset
        return self._render_line(y + scroll_y, scroll_x, scroll_x + self.size.width, self.line_style)

    def show(self, title: str, values: dict[str, str], changes: dict[str, tuple[str | None, str | None]],
             key: tuple, event: tuple[str, str] | None = None) -> None:
        """Show ``values`` (name -> repr); ``changes`` (name -> (old, new)) are highlighted.

        ``event`` is an extra first row for what the step itself did: ("returns", value) or
        ("raises", "Type: message"). When the rows are the same names as before (the usual step
        inside one frame), the nodes are relabelled in place, keeping the cursor and what was
        expanded; otherwise the tree is rebuilt (or, with as many rows and nothing expanded,
        relabelled in place) and the cursor put back on the same name.
        """
        if key == self._shown:
            return
        self._shown = key
        rows = self._rows(values, changes, event)
        # Not the hidden root's label: relabelling the root repaints every row under it.
        self.frame_title = title
        nodes = self.root.children
        if [node.data.name if node.data else None for node in nodes] == [ref.name for _, ref, _ in rows]:
            for node, (label, ref, expandable) in zip(nodes, rows):
                self._update(node, label, ref, expandable)
            return
        cursor_name = self.selected_name()
        if nodes and len(nodes) == len(rows) and not any(node.children or node.is_expanded for node in nodes):
            # As many rows as before (another frame's locals): the rows are relabelled in place,
            # as a rebuilt tree would show them, without laying the screen out again.
            for node, (label, ref, expandable) in zip(nodes, rows):
                if node.label != label:
                    node.set_label(label)
                node.data = ref
                node.allow_expand = expandable
            for index, (_label, ref, _expandable) in enumerate(rows):
                if ref.name == cursor_name:
                    self.cursor_line = index
                    break
            return
        self.clear()
        cursor_line = None
        for index, (label, ref, expandable) in enumerate(rows):
            if expandable:
                self.root.add(label, ref, allow_expand=True)
            else:
                self.root.add_leaf(label, ref)
            if ref.name == cursor_name and cursor_line is None:
                cursor_line = index
        if cursor_line is not None:
            self.cursor_line = cursor_line

    def _rows(self, values, changes, event) -> list[tuple[Text, ValueRef, bool]]:
        rows = []
        if event is not None:
            verb, value = event
            label = Text.assemble((verb, f"bold {THEME_VARIABLES['duck-error']}" if verb in ("raises", "raised") else NEW), " ",
                                  elide(value, ROW_WIDTH))
            rows.append((label, ValueRef(verb, value, verb), False))
        for name, value in written_names(values).items():
            rows.append((_label(name, value, changes.get(name)), ValueRef(name, value, name, name), _can_expand(value)))
        for name, (old, new) in written_names(changes).items():
            if new is None and name not in values:
                rows.append((Text.assemble((name, "bold"), " deleted (was ", elide(old or "?", 30), ")",
                                           style="italic"), ValueRef(name, old or "", name), False))
        return rows

    def _update(self, node: TreeNode, label: Text, ref: ValueRef, expandable: bool) -> None:
        if node.label != label:
            node.set_label(label)
        if node.data == ref:
            return
        node.data = ref
        if node.children:  # an expanded container whose value changed: show its new items
            expanded = node.is_expanded
            node.remove_children()
            if expanded and expandable:
                self._fill(node)
        node.allow_expand = expandable
        if not expandable and node.is_expanded:
            node.collapse()

    def _add(self, parent: TreeNode, name: str, value: str, label_name: str, path: str | None) -> TreeNode:
        data = ValueRef(name, value, label_name, path)
        label = _label(label_name, value, None)
        if _can_expand(value):
            return parent.add(label, data, allow_expand=True)
        return parent.add_leaf(label, data)

    def _fill(self, node: TreeNode) -> None:
        ok, parsed, complete = revived(node.data.value)
        if not ok:
            return
        items = _items(parsed)
        parent_path = node.data.path
        for label, item in items[:MAX_ITEMS]:
            path = None if parent_path is None or label == "·" else parent_path + label
            self._add(node, node.data.name, repr(item), label, path)
        if len(items) > MAX_ITEMS:
            node.add_leaf(Text(f"… {len(items) - MAX_ITEMS} more (enter on the value shows it whole)", "italic"))
        if not complete:
            node.add_leaf(Text("… the rest was cut short in the recording (--repr-limit)", "italic"))

    def on_tree_node_expanded(self, event: Tree.NodeExpanded) -> None:
        node = event.node
        if not node.children and node.data is not None:
            self._fill(node)

    def selected_ref(self) -> ValueRef | None:
        node = self.cursor_node
        return node.data if node is not None else None

    def selected_name(self) -> str | None:
        """The variable under the cursor (for an item inside a container: the variable holding it)."""
        ref = self.selected_ref()
        return ref.name if ref is not None else None

    def selected_path(self) -> str | None:
        """The path of the row under the cursor (``node.value``, ``xs[0]``): the variable itself, or an item/attribute of it."""
        ref = self.selected_ref()
        if ref is None:
            return None
        return ref.path if ref.path is not None else ref.name
