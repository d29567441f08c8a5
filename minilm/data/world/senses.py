"""The polysemous words of the world: each sense a small grammar (templates, slots, kin words)."""

from __future__ import annotations

from dataclasses import dataclass

# Polysemous words. A sense is learnable only from contexts it shares with other text, so each
# sense is a small grammar rather than a list of sentences:
#   templates   sentences with the word ({w}) and slots ({water}) filled from `slots`;
#   slots       sense-typical words (the bird stands in a marsh, the machine lifts steel);
#   companions  sentences putting the same slot words around non-polysemous kin words ({x}:
#               heron, forklift, shore ...) - so "marsh" or "steel" means something before any
#               crane is seen, and the kin words share their contexts with the sense.
# The last template of the two senses of a word is the same sentence but for its fillers
# ("from the hill we watched a {hue} crane near the {wetland}" / "... {paint} crane near the
# {site}"): there only the sense-typical words tell the senses apart.
# The word takes the same token positions in the two senses' templates (the same multiset), so
# its position in a sentence says nothing about its sense.
# Held out (`sense_combinations`): a seeded fifth of each template's filler combinations is
# stated only in valid/test, never in train, while each of their fillers fills the same slot of
# the same template in train - recognising the sense needs composition, not recall.


@dataclass(frozen=True)
class Sense:
    """One sense of a polysemous word: its templates, their fillers, kin words, companions."""

    templates: tuple[str, ...]  # {w} = the polysemous word, {slot} = a word of slots[slot]
    slots: dict[str, tuple[str, ...]]  # slot -> sense-typical fillers
    kin: tuple[str, ...]  # non-polysemous words that occur in this sense's contexts
    companions: tuple[str, ...]  # {x} = a kin word (optional), slots as in the templates


POLYSEMY: dict[str, dict[str, Sense]] = {
    "bank": {
        "river": Sense(
            templates=(
                "the {boat} drifted toward the {ground} {w} of the {water} .",
                "{fish} swim in shallow water near the {w} of the {water} .",
                "{reeds} grow along the {w} where the {water} bends .",
                "the {w} of the {water} was {ground} after the rain .",
                "we stopped at the {w} near the {water} to look at the {reeds} .",
            ),
            slots={
                "boat": ("boat", "canoe", "raft", "log"),
                "ground": ("muddy", "grassy", "sandy", "steep"),
                "water": ("river", "stream", "creek", "brook"),
                "fish": ("fish", "trout", "eels", "tadpoles"),
                "reeds": ("reeds", "rushes", "willows", "moss"),
            },
            kin=("shore", "edge"),
            companions=(
                "the {boat} drifted toward the {ground} {x} of the {water} .",
                "{fish} swim in the shallow water near the {x} of the {water} .",
                "{reeds} grow along the {x} where the {water} bends .",
                "the {boat} floated down the {water} past the {reeds} .",
            ),
        ),
        "money": Sense(
            templates=(
                "the {staff} who worked at the {w} counted the {money} .",
                "{savers} keep their {money} safely in the {w} .",
                "the {w} lent {money} to the {borrower} .",
                "the {staff} of the {w} locked the {money} in the vault .",
                "we stopped at the {w} near the {square} to look at the {money} .",
            ),
            slots={
                "staff": ("clerk", "teller", "manager", "cashier"),
                "money": ("money", "coins", "cash", "savings", "gold"),
                "savers": ("families", "traders", "merchants", "pensioners"),
                "borrower": ("merchant", "trader", "shopkeeper", "landlord"),
                "square": ("market", "square", "courthouse", "townhall"),
            },
            kin=("shop", "office", "market"),
            companions=(
                "the {staff} at the {x} counted the {money} .",
                "{savers} keep their {money} in a safe at the {x} .",
                "the {staff} of the {x} locked the {money} in the safe .",
                "the {borrower} paid the {money} back to the {staff} .",
                "we stopped at the {x} near the {square} to look at the {money} .",
            ),
        ),
    },
    "bat": {
        "animal": Sense(
            templates=(
                "a {w} flew out of the {roost} at {hour} .",
                "in the {gloomy} {roost} a {w} hung upside down .",
                "at {hour} the hungry {w} hunts {insects} with its wings .",
                "all day in the {gloomy} {roost} the {w} slept .",
                "the children found a {young} {w} in the {roost} .",
            ),
            slots={
                "roost": ("cave", "attic", "tunnel", "belfry"),
                "hour": ("night", "dusk", "midnight", "nightfall"),
                "gloomy": ("damp", "gloomy", "silent", "hollow"),
                "insects": ("moths", "gnats", "beetles", "mosquitoes"),
                "young": ("tiny", "sleeping", "young", "furry"),
            },
            kin=("owl", "swallow"),
            companions=(
                "the {x} flew out of the {roost} at {hour} .",
                "the {x} slept all day in the {gloomy} {roost} .",
                "at {hour} the {x} hunts {insects} with its wings .",
                "{insects} swarmed in the {gloomy} {roost} at {hour} .",
                "the children found a {young} {x} in the {roost} .",
            ),
        ),
        "sport": Sense(
            templates=(
                "the {w} broke when the {player} hit the ball in the {game} .",
                "the {player} swung the {w} and the {crowd} cheered .",
                "the coach gave the {squad} a new {w} for the {game} .",
                "the {player} gripped the {wood} {w} before the {game} .",
                "the children found a {wood} {w} in the {shed} .",
            ),
            slots={
                "player": ("batter", "player", "captain", "striker"),
                "wood": ("wooden", "heavy", "polished", "cricket"),
                "crowd": ("crowd", "fans", "spectators", "supporters"),
                "squad": ("team", "squad", "juniors", "seniors"),
                "game": ("match", "game", "final", "tournament"),
                "shed": ("clubhouse", "pavilion", "locker", "stadium"),
            },
            kin=("racket", "club", "stick"),
            companions=(
                "the {player} hit the ball with a {wood} {x} .",
                "the {player} swung the {x} and the {crowd} cheered .",
                "the coach gave the {squad} a new {x} for the {game} .",
                "the {player} scored and the {crowd} cheered after the {game} .",
                "the children found a {wood} {x} in the {shed} .",
            ),
        ),
    },
    "crane": {
        "bird": Sense(
            templates=(
                "a {w} stood on one leg among the {cover} in the {wetland} .",
                "the {w} caught a {prey} in the {wetland} .",
                "the {w} spread its wings and {flew} over the {wetland} .",
                "in the {wetland} a {w} waded after a {prey} .",
                "from the hill we watched a {hue} {w} near the {wetland} .",
            ),
            slots={
                "wetland": ("marsh", "lake", "pond", "swamp", "lagoon"),
                "prey": ("frog", "fish", "snail", "worm"),
                "cover": ("reeds", "rushes", "lilies", "sedge"),
                "flew": ("flew", "glided", "soared"),
                "hue": ("grey", "white", "wading", "nesting"),
            },
            kin=("heron", "stork", "duck"),
            companions=(
                "a {x} stood on one leg among the {cover} in the {wetland} .",
                "the {x} caught a {prey} in the {wetland} .",
                "the {x} spread its wings and {flew} over the {wetland} .",
                "a {prey} hid from the {x} in the {wetland} .",
                "from the hill we watched a {hue} {x} near the {wetland} .",
            ),
        ),
        "machine": Sense(
            templates=(
                "the {w} lifted the {material} {load} at the {site} .",
                "{crew} climbed into the {w} at the {site} .",
                "the {w} raised {material} {load} to the roof .",
                "the {w} {moved} the {load} onto the {carrier} .",
                "from the hill we watched a {paint} {w} near the {site} .",
            ),
            slots={
                "material": ("steel", "concrete", "timber", "iron"),
                "load": ("beams", "blocks", "pipes", "girders", "crates"),
                "site": ("site", "dock", "harbour", "quarry", "wharf"),
                "moved": ("lifted", "lowered", "hoisted", "swung"),
                "carrier": ("truck", "ship", "barge", "lorry"),
                "crew": ("workers", "builders", "operators", "riggers"),
                "paint": ("yellow", "rusty", "diesel", "mobile"),
            },
            kin=("forklift", "hoist", "winch"),
            companions=(
                "the {x} lifted the {material} {load} at the {site} .",
                "{crew} climbed onto the {x} at the {site} .",
                "the {carrier} brought the {material} {load} to the {site} .",
                "the {x} {moved} the {load} onto the {carrier} .",
                "from the hill we watched a {paint} {x} near the {site} .",
            ),
        ),
    },
    "plant": {
        "flora": Sense(
            templates=(
                "green {parts} grew on the {w} in the {garden} .",
                "the gardener watered the {w} in the {garden} every {daytime} .",
                "the {w} {bloomed} with tiny {parts} in {season} .",
                "the {w} in the {garden} {bloomed} in {season} .",
                "there is a {kind} {w} beside the {garden} .",
            ),
            slots={
                "parts": ("leaves", "flowers", "buds", "shoots", "berries"),
                "garden": ("garden", "greenhouse", "meadow", "flowerbed"),
                "daytime": ("morning", "evening"),
                "bloomed": ("bloomed", "blossomed", "flowered"),
                "season": ("spring", "summer", "april"),
                "kind": ("flowering", "climbing", "potted", "leafy"),
            },
            kin=("rose", "fern", "tulip", "shrub"),
            companions=(
                "green {parts} grew on the {x} in the {garden} .",
                "the gardener watered the {x} in the {garden} every {daytime} .",
                "the {x} {bloomed} with tiny {parts} in {season} .",
                "the {garden} was full of {parts} in {season} .",
                "there is a {kind} {x} beside the {garden} .",
            ),
        ),
        "factory": Sense(
            templates=(
                "{staff} who work at the {w} make {product} for the {buyer} .",
                "the {w} closed and {many} of {staff} lost their jobs .",
                "smoke rose from the {w} through its {stacks} at {shift} .",
                "the {w} hired {many} of workers to make {product} .",
                "there is a {sector} {w} beside the {route} .",
            ),
            slots={
                "product": ("engines", "tyres", "batteries", "cables", "pumps"),
                "buyer": ("carmakers", "shipyards", "railways", "airlines"),
                "many": ("hundreds", "thousands", "dozens"),
                "shift": ("dawn", "noon", "night"),
                "staff": ("workers", "welders", "fitters", "machinists"),
                "stacks": ("chimneys", "furnaces", "stacks"),
                "sector": ("chemical", "power", "bottling", "textile"),
                "route": ("railway", "motorway", "canal", "gasworks"),
            },
            kin=("factory", "mill", "refinery", "foundry"),
            companions=(
                "workers at the {x} make {product} for the {buyer} .",
                "the {x} closed and {many} of {staff} lost their jobs .",
                "smoke rose from the {stacks} of the {x} at {shift} .",
                "the {buyer} ordered {many} of {product} from the {x} .",
                "there is a {sector} {x} beside the {route} .",
            ),
        ),
    },
}
