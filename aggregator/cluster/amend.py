"""Changes to placements already made, in the clusterer's memory: an operator's split or
merge (``aggregator stories split|merge``), stories kept apart, an article whose page
arrived after it was placed (a deferred page), and a story found to hold two events
(split.py).

:class:`Amending` is mixed into :class:`~aggregator.cluster.clusterer.Clusterer`; it works on
the clusterer's index and maps, which the annotations below name.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from aggregator.cluster import corrections as correctionsmod
from aggregator.cluster import split as splitmod
from aggregator.cluster.settings import ClusterSettings
from aggregator.cluster.stories import ExpiringMap, Story, StoryIndex
from aggregator.types import ClusterDoc


class Amending:
    """Operators' corrections and late bodies (the clusterer brings what is annotated)."""

    settings: ClusterSettings
    index: StoryIndex
    _story_of: ExpiringMap
    _alias: ExpiringMap
    _apart: correctionsmod.Apart
    _now: datetime | None
    story_of: Callable[[str], str | None]
    _resolve: Callable[[str], str]
    _story_for_article: Callable[[str], Story | None]
    _weighed: Callable[[ClusterDoc], Any]
    _join: Callable[[Story, ClusterDoc, Any, datetime | None], None]
    _fold: Callable[[Story, Story], None]
    _new_story_id: Callable[[str], str]

    def split(
        self, doc: ClusterDoc, story_id: str, new_story_id: str, copies: Sequence[str] = ()
    ) -> None:
        """An operator took ``doc`` (and its wire ``copies``) out of ``story_id`` into a story
        of its own: move it in memory (its vector under today's IDF, close to what it added;
        its headline), and never merge the two stories again."""
        if not self.move([doc], story_id, new_story_id):
            return  # outside the window, or moved already: nothing in memory to move
        for copy in copies:
            self._story_of.put(copy, new_story_id, self._now)

    def move(self, docs: Sequence[ClusterDoc], story_id: str, new_story_id: str) -> int:
        """``docs`` left ``story_id`` for ``new_story_id`` (an operator's split, or another
        daemon's clusterer's, split.py): the same in this memory (each article's vector
        under today's IDF, its headline), and the two are never merged again. How many
        articles moved: those this memory holds in the old story (the others are outside
        the window, or were placed in the new story already)."""
        old_id = self._resolve(story_id)
        self._apart.add(old_id, new_story_id)
        old = self.index.stories.get(old_id)
        moving = [doc for doc in docs if old is not None and self.story_of(doc.id) == old_id]
        if old is None or not moving:
            return 0
        old.forget_members()  # the split check judges whole stories only
        new = self.index.stories.get(new_story_id)
        for doc in moving:
            article = self._weighed(doc)
            correctionsmod.remove_vector(old, article.vector)
            correctionsmod.remove_headline(old, doc.title.strip(), self.settings.headlines_kept)
            when = doc.published or self._now
            new = new or self.index.create(new_story_id, when)
            self._join(new, doc, article, when)
        return len(moving)

    def refresh(self, old: ClusterDoc, new: ClusterDoc) -> bool:
        """An article placed with its feed's text got its page later (a deferred page):
        its story's centroid now holds the page's words in place of the feed's. The
        article stays in its story; False when it is not in memory (outside the window,
        or the window not loaded: a later restore reads the new text from the store)."""
        story = self._story_for_article(old.id)
        if story is None:
            return False
        before, after = self._weighed(old), self._weighed(new)
        story.forget_members()
        was_seed = story.seed == before.vector
        correctionsmod.remove_vector(story, before.vector)
        for term in before.vector:
            if term not in story.centroid:
                self.index.unpost(term, story.id)
        self.index.touch(story, after.vector, None, self.settings.story_terms)
        if was_seed:
            story.seed = dict(after.vector)
        story.traits.add(new.source, after.names)
        return True

    def merge(self, absorbed_id: str, surviving_id: str) -> None:
        """An operator merged two stories: the same in memory (the surviving id is kept)."""
        absorbed_id, surviving_id = self._resolve(absorbed_id), self._resolve(surviving_id)
        if absorbed_id == surviving_id:
            return
        absorbed = self.index.stories.get(absorbed_id)
        survivor = self.index.stories.get(surviving_id)
        if absorbed is None:  # gone from memory: only its id needs to lead to the survivor
            self._alias.put(absorbed_id, surviving_id, self._now)
            return
        if survivor is None:  # an older story, gone from memory: it lives on in this one
            survivor = self.index.create(surviving_id, absorbed.first_time)
        self._fold(survivor, absorbed)

    def keep_apart(self, story_id: str, other_id: str) -> None:
        """Never merge these two stories (restored from the store's split corrections)."""
        self._apart.add(story_id, other_id)

    def _kept_apart(self, one: str, other: str) -> bool:
        """Whether an operator kept these live stories apart (ids merged since followed)."""
        return self._apart.between(one, other, self._resolve)

    def _split(self, story: Story) -> tuple[tuple[str, str], ...]:
        """Move the articles of a second event out of ``story`` (split.py); the moves."""
        s = self.settings
        if not s.split_stories or len(story.members) < 2:
            return ()
        groups = splitmod.groups_to_split(
            story.members, story.member_cosines, min_terms=s.split_min_terms
        )
        moves: list[tuple[str, str]] = []
        for group in groups:
            leaving = [story.members[i] for i in group]
            new = self.index.create(self._new_story_id(leaving[0].id), leaving[0].when)
            for member in leaving:
                correctionsmod.remove_vector(story, member.vector)
                correctionsmod.remove_headline(story, member.title, s.headlines_kept)
                story.traits.remove(member.source, member.names)
                self.index.touch(new, member.vector, member.when, s.story_terms)
                new.traits.add(member.source, member.names)
                new.add_headline(member.title, member.title_vector, s.headlines_kept)
                new.add_member(member, s.split_max)
                self._story_of.put(member.id, new.id, self._now)
                moves.append((member.id, new.id))
            for member in leaving:
                for term in member.vector:
                    if term not in story.centroid:
                        self.index.unpost(term, story.id)
            new.seed_title = leaving[0].title_vector
            new.last_tick = story.last_tick
            self._apart.add(story.id, new.id)
        if moves:
            moved = {article for article, _ in moves}
            story.set_members([m for m in story.members if m.id not in moved], s.split_max)
        return tuple(moves)
