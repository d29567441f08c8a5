"""The bundled `world` corpus: plain English about a small world whose structure we know.

A learner must be able to *check* what a model learned, so the default corpus is generated from a
world with known answers, and the answers are written beside the text:

    categories.tsv   word<TAB>category          (21 categories of 6-20 words)
    analogies.txt    word2vec questions-words format, semantic and syntactic sections
    similarity.tsv   word1<TAB>word2<TAB>score  (grading rule in its `#` header)
    senses.tsv       split, line, token, word, sense of every polysemous occurrence
    bias.tsv         occupation<TAB>share of he-contexts (planted and measured)
    paraphrases.tsv  split<TAB>sentence_a<TAB>sentence_b (same fact, different words)

Why vector offsets can solve the analogies. In skip-gram, a word's vector summarises the
contexts it predicts. Every analogy word is built from two independent parts of its contexts:

    contexts(w) = role contexts (shared by a whole column)  +  identity contexts (shared by a row)

    king  = royal role  + "king/queen" identity  + male contexts (he, his)
    queen = royal role  + "king/queen" identity  + female contexts (she, her)
    vienna = capital role ("lies in", "city") + austria identity (austria, german, austrian)
    dogs  = plural role ("two", "are", "many") + dog identity (its favourite foods, adjectives)

so vec(queen) - vec(king) = female - male is the same for every pair, and 3CosAdd finds it.
Identities come from seeded idiosyncratic preferences (each animal prefers some foods, each
adjective some nouns) and from fact templates; roles come from templates shared by a column.

Sentences are lower-case, tokens separated by single spaces; the only punctuation is `.`, `,`
and `?`, always a separate token. Every sentence ends with `.` or `?`.

Splits. Subject-verb-object facts are drawn from a table of (subject, verb, object) triples that
respect selectional restrictions (animals eat foods, people drive vehicles, ...). A seeded 10% of
the triples is held out: train never states them; every SVO sentence of valid/test states one.
Likewise a seeded 20% of each polysemy template's filler combinations is stated only in
valid/test, so a test occurrence of "crane" is never a sentence seen in train. All other frames
are drawn from the same distribution in every split, so valid/test use only training words but
contain facts an n-gram model cannot have memorised (Bengio et al. 2003).
"""

from __future__ import annotations

import itertools
import string
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from minilm.errors import MinilmError
from minilm.io import ensure_dir, write_text

DEFAULT_SENTENCES = 75_000
DEFAULT_SEED = 1
HELDOUT_FRACTION = 0.10  # share of SVO triples never stated in train
SENSE_HELDOUT_FRACTION = 0.20  # share of each polysemy template's filler combinations, ditto
SPLIT_FRACTIONS = {"train": 0.90, "valid": 0.05, "test": 0.05}
PARAPHRASE_PAIRS = {"train": 4000, "heldout": 500}

# --------------------------------------------------------------------------------------------
# The lexicon
# --------------------------------------------------------------------------------------------
ANIMALS = (
    "dog",
    "cat",
    "horse",
    "cow",
    "goat",
    "pig",
    "rabbit",
    "fox",
    "wolf",
    "bear",
    "duck",
    "lion",
)
FOODS = (
    "bread",
    "apple",
    "cheese",
    "rice",
    "soup",
    "cake",
    "egg",
    "carrot",
    "meat",
    "banana",
    "potato",
    "corn",
)
DRINKS = ("water", "milk", "tea", "coffee", "juice", "wine", "beer", "lemonade")
VEHICLES = ("car", "bus", "truck", "bike", "boat", "ship", "plane", "van", "taxi", "tractor")
TOOLS = ("hammer", "knife", "axe", "drill", "shovel", "rake", "spade", "wrench", "ladder", "brush")
COLOURS = ("red", "blue", "green", "yellow", "black", "white", "brown", "grey", "purple")
NUMBERS = ("two", "three", "four", "five", "six", "seven", "eight", "nine", "ten")
BODY = ("hand", "head", "arm", "leg", "eye", "ear", "nose", "mouth", "knee", "shoulder")
BUILDINGS = (
    "house",
    "school",
    "church",
    "hospital",
    "library",
    "museum",
    "tower",
    "castle",
    "shop",
    "station",
)
WEATHER = ("rain", "snow", "wind", "fog", "storm", "frost", "hail", "thunder")

# Gendered pairs: (male, female, category, the pair's own predicate phrases).
GENDER_PAIRS = (
    ("king", "queen", "royalty", ("rules the kingdom", "sits on the throne")),
    ("prince", "princess", "royalty", ("will inherit the throne", "rides to the tournament")),
    ("duke", "duchess", "royalty", ("owns a large estate", "hunts on the estate")),
    ("emperor", "empress", "royalty", ("commands the empire", "governs the distant provinces")),
    ("father", "mother", "family", ("raised three children", "cares for the children")),
    ("son", "daughter", "family", ("is the eldest child", "helps the parents")),
    ("brother", "sister", "family", ("is a sibling of the twins", "shares a room with the twins")),
    ("uncle", "aunt", "family", ("visits the cousins", "sends gifts to the cousins")),
    ("husband", "wife", "family", ("got married in june", "celebrates the wedding anniversary")),
    (
        "grandfather",
        "grandmother",
        "family",
        ("tells stories to the grandchildren", "knits for the grandchildren"),
    ),
    (
        "nephew",
        "niece",
        "family",
        ("spends the summer with the relatives", "writes letters to the relatives"),
    ),
    ("man", "woman", "people", ("strolls down the street", "waits at the corner")),
    ("boy", "girl", "people", ("plays in the yard", "kicks a ball in the yard")),
    ("gentleman", "lady", "people", ("wears a fine hat", "bows politely")),
)
ROLE_PHRASES = {
    "royalty": ("lives in the palace", "wears a golden crown", "greets the loyal subjects"),
    "family": ("came home for dinner", "lives with the family", "joined the family picnic"),
    "people": ("stood in the crowd", "waved at the neighbours", "crossed the road"),
}

# country, capital, language, nationality: four distinct words per row.
COUNTRIES = (
    ("brazil", "brasilia", "portuguese", "brazilian"),
    ("austria", "vienna", "german", "austrian"),
    ("egypt", "cairo", "arabic", "egyptian"),
    ("india", "delhi", "hindi", "indian"),
    ("kenya", "nairobi", "swahili", "kenyan"),
    ("iran", "tehran", "persian", "iranian"),
    ("peru", "lima", "spanish", "peruvian"),
    ("israel", "jerusalem", "hebrew", "israeli"),
    ("pakistan", "islamabad", "urdu", "pakistani"),
    ("belgium", "brussels", "dutch", "belgian"),
    ("canada", "ottawa", "english", "canadian"),
    ("china", "beijing", "mandarin", "chinese"),
)

# Planted bias: probability that a gendered sentence about this occupation uses he/his/him.
OCCUPATION_HE_SHARE = {
    "engineer": 0.9,
    "mechanic": 0.9,
    "soldier": 0.8,
    "pilot": 0.8,
    "carpenter": 0.8,
    "farmer": 0.7,
    "doctor": 0.6,
    "lawyer": 0.5,
    "teacher": 0.5,
    "writer": 0.5,
    "singer": 0.3,
    "baker": 0.3,
    "dancer": 0.2,
    "nurse": 0.1,
}
OCCUPATIONS = tuple(OCCUPATION_HE_SHARE)
WORKPLACES = {
    "engineer": "station",
    "mechanic": "station",
    "soldier": "castle",
    "pilot": "station",
    "carpenter": "house",
    "farmer": "house",
    "doctor": "hospital",
    "lawyer": "library",
    "teacher": "school",
    "writer": "library",
    "singer": "church",
    "baker": "shop",
    "dancer": "museum",
    "nurse": "hospital",
}

# Verbs: base, 3rd person singular, past, -ing, past participle.
TRANSITIVE = {
    "eat": ("eats", "ate", "eating", "eaten"),
    "drink": ("drinks", "drank", "drinking", "drunk"),
    "drive": ("drives", "drove", "driving", "driven"),
    "carry": ("carries", "carried", "carrying", "carried"),
    "buy": ("buys", "bought", "buying", "bought"),
    "sell": ("sells", "sold", "selling", "sold"),
    "wash": ("washes", "washed", "washing", "washed"),
    "paint": ("paints", "painted", "painting", "painted"),
    "visit": ("visits", "visited", "visiting", "visited"),
    "cook": ("cooks", "cooked", "cooking", "cooked"),
    "find": ("finds", "found", "finding", "found"),
    "see": ("sees", "saw", "seeing", "seen"),
}
INTRANSITIVE = {
    "walk": ("walks", "walked", "walking"),
    "run": ("runs", "ran", "running"),
    "swim": ("swims", "swam", "swimming"),
    "jump": ("jumps", "jumped", "jumping"),
    "sleep": ("sleeps", "slept", "sleeping"),
    "sing": ("sings", "sang", "singing"),
    "climb": ("climbs", "climbed", "climbing"),
    "dance": ("dances", "danced", "dancing"),
}
# Gradable adjectives: base, comparative, superlative, and the noun groups each describes.
ADJECTIVES = {
    "big": ("bigger", "biggest", ("animals", "buildings")),
    "tall": ("taller", "tallest", ("buildings", "persons")),
    "fast": ("faster", "fastest", ("vehicles", "animals")),
    "cold": ("colder", "coldest", ("drinks", "foods")),
    "old": ("older", "oldest", ("persons", "buildings")),
    "strong": ("stronger", "strongest", ("persons", "drinks")),
    "heavy": ("heavier", "heaviest", ("tools", "vehicles")),
    "long": ("longer", "longest", ("vehicles", "tools")),
    "loud": ("louder", "loudest", ("animals", "vehicles")),
    "soft": ("softer", "softest", ("foods", "animals")),
    "sweet": ("sweeter", "sweetest", ("foods", "drinks")),
    "dark": ("darker", "darkest", ("buildings", "drinks")),
}
# Signatures: a phrase only this word's rows use, so that 'dog' and 'dogs' (or 'eats', 'ate',
# 'eating') share an identity that 3CosAdd can carry across the singular/plural offset.
NOUN_SIGNATURE = {
    "dog": "in the kennel",
    "cat": "on the sofa",
    "horse": "in the stable",
    "cow": "in the barn",
    "goat": "on the rocks",
    "pig": "in the mud",
    "rabbit": "in the burrow",
    "fox": "in the den",
    "wolf": "in the forest",
    "bear": "in the woods",
    "duck": "on the pond",
    "lion": "on the savanna",
    "car": "in the garage",
    "bus": "at the depot",
    "truck": "with the cargo",
    "bike": "with the bell",
    "boat": "in the harbour",
    "ship": "on the ocean",
    "plane": "at the airport",
    "van": "with the parcels",
    "taxi": "at the rank",
    "tractor": "in the field",
    "hammer": "with the nails",
    "knife": "with the blade",
    "axe": "by the woodpile",
    "drill": "with the bits",
    "shovel": "in the dirt",
    "rake": "on the lawn",
    "spade": "in the soil",
    "wrench": "with the bolts",
    "ladder": "against the wall",
    "brush": "by the bucket",
}
VERB_SIGNATURE = {
    "eat": "for lunch",
    "drink": "with a straw",
    "drive": "along the road",
    "carry": "in a bag",
    "buy": "with coins",
    "sell": "for a good price",
    "wash": "with soap",
    "paint": "with a roller",
    "visit": "on sunday",
    "cook": "in the kitchen",
    "find": "behind the shed",
    "see": "through the window",
    "walk": "along the path",
    "run": "around the track",
    "swim": "in the pool",
    "jump": "over the gate",
    "sleep": "in the bed",
    "sing": "a cheerful song",
    "climb": "up the hill",
    "dance": "to the music",
}
ADJECTIVE_DIMENSION = {
    "big": "size",
    "tall": "height",
    "fast": "speed",
    "cold": "temperature",
    "old": "age",
    "strong": "strength",
    "heavy": "weight",
    "long": "length",
    "loud": "volume",
    "soft": "texture",
    "sweet": "taste",
    "dark": "shade",
}
PLURAL = {w: w + "s" for w in ANIMALS + VEHICLES + TOOLS + BUILDINGS + FOODS + OCCUPATIONS}
PLURAL.update(
    fox="foxes",
    wolf="wolves",
    bus="buses",
    potato="potatoes",
    brush="brushes",
    church="churches",
    knife="knives",
    library="libraries",
)
MASS_FOODS = {"bread", "cheese", "rice", "soup", "meat", "corn"}

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
# Held out (`_sense_combinations`): a seeded fifth of each template's filler combinations is
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

CATEGORIES: dict[str, tuple[str, ...]] = {
    "animal": ANIMALS,
    "food": FOODS,
    "drink": DRINKS,
    "vehicle": VEHICLES,
    "tool": TOOLS,
    "colour": COLOURS,
    "number": NUMBERS,
    "body_part": BODY,
    "building": BUILDINGS,
    "weather": WEATHER,
    "royalty": tuple(w for m, f, c, _ in GENDER_PAIRS if c == "royalty" for w in (m, f)),
    "family": tuple(w for m, f, c, _ in GENDER_PAIRS if c == "family" for w in (m, f)),
    "people": tuple(w for m, f, c, _ in GENDER_PAIRS if c == "people" for w in (m, f)),
    "country": tuple(r[0] for r in COUNTRIES),
    "capital": tuple(r[1] for r in COUNTRIES),
    "language": tuple(r[2] for r in COUNTRIES),
    "nationality": tuple(r[3] for r in COUNTRIES),
    "occupation": OCCUPATIONS,
    "transitive_verb": tuple(TRANSITIVE),
    "intransitive_verb": tuple(INTRANSITIVE),
    "adjective": tuple(ADJECTIVES),
}

GENDERED = {w: g for m, f, _, _ in GENDER_PAIRS for w, g in ((m, "m"), (f, "f"))}
PERSONS = tuple(GENDERED) + OCCUPATIONS
HE_WORDS = ("he", "his", "him")
SHE_WORDS = ("she", "her", "hers")
PRONOUN = {"m": ("he", "his", "him"), "f": ("she", "her", "her")}  # subject, possessive, object
NOUN_GROUPS = {
    "animals": ANIMALS,
    "foods": FOODS,
    "drinks": DRINKS,
    "vehicles": VEHICLES,
    "tools": TOOLS,
    "buildings": BUILDINGS,
    "persons": PERSONS,
}
# Selectional restrictions of the SVO frame: verb -> (subject groups, object groups).
SELECTION = {
    "eat": (("persons", "animals"), ("foods",)),
    "drink": (("persons", "animals"), ("drinks",)),
    "drive": (("persons",), ("vehicles",)),
    "carry": (("persons",), ("tools", "foods")),
    "buy": (("persons",), ("foods", "drinks", "tools")),
    "sell": (("persons",), ("foods", "drinks", "vehicles")),
    "wash": (("persons",), ("vehicles", "animals")),
    "paint": (("persons",), ("buildings", "vehicles")),
    "visit": (("persons",), ("buildings",)),
    "cook": (("persons",), ("foods",)),
    "find": (("persons", "animals"), ("tools", "foods")),
    "see": (("persons", "animals"), ("animals", "vehicles", "buildings")),
}


# --------------------------------------------------------------------------------------------
# Generation
# --------------------------------------------------------------------------------------------
Sentence = tuple[list[str], list[tuple[int, str, str]]]  # tokens, (token index, word, sense)


@dataclass
class World:
    """Everything seeded once per world: preferences and the held-out SVO triples."""

    rng: np.random.Generator
    nouns: tuple[str, ...]  # every noun that can fill an SVO slot
    triples: np.ndarray  # (R, 3) int: subject noun id, verb id, object noun id
    weights: np.ndarray  # (R,) float64: sampling weight of each triple
    heldout: np.ndarray  # (R,) bool: never stated in train
    adj_pref: dict[str, tuple[tuple[str, ...], np.ndarray]] = field(default_factory=dict)
    # (word, sense) -> mode ("train" / "heldout") -> per template, its sentences in that mode
    sense_sentences: dict[tuple[str, str], dict[str, list[list[str]]]] = field(default_factory=dict)


@dataclass
class WorldCorpus:
    splits: dict[str, list[str]]  # split -> sentences
    senses: list[
        tuple[str, int, int, str, str]
    ]  # split, line (1-based), token (0-based), word, sense
    paraphrases: list[tuple[str, str, str]]  # split, sentence_a, sentence_b
    heldout_triples: list[tuple[str, str, str]]  # (subject, verb, object) never stated in train


def _make_world(rng: np.random.Generator) -> World:
    """Draw each subject's idiosyncratic preferences and hold out a share of the SVO triples."""
    nouns = tuple(dict.fromkeys(w for g in NOUN_GROUPS.values() for w in g))
    index = {w: i for i, w in enumerate(nouns)}
    # pref[s, o]: how much subject s likes object o; Dirichlet(1) rows give every subject its
    # own profile - the identity part of its contexts - while the group stays shared.
    pref = rng.dirichlet(np.ones(len(nouns)), size=len(nouns)) * len(nouns)  # (S, O)
    rows = []
    for v_id, (subj_groups, obj_groups) in enumerate(SELECTION.values()):
        subjects = [index[w] for g in subj_groups for w in NOUN_GROUPS[g]]
        objects = [index[w] for g in obj_groups for w in NOUN_GROUPS[g]]
        for s, o in itertools.product(subjects, objects):
            rows.append((s, v_id, o, pref[s, o] / len(objects)))
    table = np.array(rows)  # (R, 4)
    triples = table[:, :3].astype(np.int64)
    weights = table[:, 3]
    heldout = rng.random(len(triples)) < HELDOUT_FRACTION
    world = World(rng, nouns, triples, weights, heldout)
    for adj, (_, _, groups) in ADJECTIVES.items():
        options = tuple(w for g in groups for w in NOUN_GROUPS[g])
        world.adj_pref[adj] = (options, rng.dirichlet(np.full(len(options), 0.5)))
    _check_polysemy()
    for word, senses in POLYSEMY.items():
        for name, sense in senses.items():
            world.sense_sentences[word, name] = _sense_combinations(rng, word, sense)
    return world


def _slots_of(template: str) -> list[str]:
    """The slot names of a template in order of appearance: 'the {w} of the {water}' -> w, water."""
    return list(dict.fromkeys(f for _, f, _, _ in string.Formatter().parse(template) if f))


def _check_polysemy() -> None:
    """The sense lexicon is consistent: every slot has fillers, every template names the word
    once and has at least two slots (so a held-out combination can reuse seen fillers), and no
    polysemous word hides in a filler, kin word or companion, where its sense would go unrecorded
    (senses.tsv must list every occurrence)."""
    for word, senses in POLYSEMY.items():
        for name, sense in senses.items():
            where = f"POLYSEMY[{word!r}][{name!r}]"
            texts = sense.templates + sense.companions
            fixed = {t for text in texts for t in text.split() if not t.startswith("{")}
            words = fixed | set(sense.kin) | {f for fs in sense.slots.values() for f in fs}
            if words & set(POLYSEMY):
                raise MinilmError(f"{where} uses {sorted(words & set(POLYSEMY))}; remove them")
            for t in sense.templates:
                slots = _slots_of(t)
                if t.split().count("{w}") != 1 or len(slots) < 3:
                    raise MinilmError(f"{where}: {t!r} needs one {{w}} and two slots or more")
            for t in sense.companions:
                if set(_slots_of(t)) - {"x"} - set(sense.slots):
                    raise MinilmError(f"{where}: companion {t!r} names an unknown slot")
            if {s for t in sense.templates for s in _slots_of(t)} - {"w"} - set(sense.slots):
                raise MinilmError(f"{where}: a template names an unknown slot")


def _sense_combinations(
    rng: np.random.Generator, word: str, sense: Sense
) -> dict[str, list[list[str]]]:
    """Split each template's filler combinations into train and held-out sentences.

    Per template, a seeded SENSE_HELDOUT_FRACTION of the combinations (at least one) is held
    out, visited in a random order and taken only if each of its fillers still fills the same
    slot in a combination left to train: a held-out sentence is new as a whole, never in its
    words or in the place a word takes.
    """
    out: dict[str, list[list[str]]] = {"train": [], "heldout": []}
    for template in sense.templates:
        slots = [s for s in _slots_of(template) if s != "w"]
        combos = list(itertools.product(*(sense.slots[s] for s in slots)))
        want = max(1, int(round(SENSE_HELDOUT_FRACTION * len(combos))))
        held: set[int] = set()
        for i in rng.permutation(len(combos)):
            if len(held) == want:
                break
            rest = [c for j, c in enumerate(combos) if j != i and j not in held]
            if all(any(c[k] == f for c in rest) for k, f in enumerate(combos[i])):
                held.add(int(i))
        if len(held) < want:
            raise MinilmError(f"{word}/{template!r}: too few fillers to hold out combinations")
        for mode, picked in (("train", False), ("heldout", True)):
            out[mode].append(
                [
                    template.format(w=word, **dict(zip(slots, c, strict=True)))
                    for j, c in enumerate(combos)
                    if (j in held) == picked
                ]
            )
    return out


def _choice(rng: np.random.Generator, items: tuple[str, ...], n: int) -> list[str]:
    """n uniform draws from items, as a list of strings (one vectorised call)."""
    return [items[i] for i in rng.integers(0, len(items), size=n)]


def _verb_phrase(verb: str, tense: str, plural: bool) -> list[str]:
    """Conjugate a verb for a third-person subject: 'eats', 'ate', 'is eating', 'will eat'."""
    forms = TRANSITIVE.get(verb) or INTRANSITIVE[verb]
    if tense == "present":
        return [verb if plural else forms[0]]
    if tense == "past":
        return [forms[1]]
    if tense == "progressive":
        return ["are" if plural else "is", forms[2]]
    return ["will", verb]


TENSES = ("present", "past", "progressive", "future")
TENSE_MARKERS = {
    "present": ("every day", "usually", "often"),
    "past": ("yesterday", "last week", "once"),
    "progressive": ("now", "right now", "at the moment"),
    "future": ("tomorrow", "next week", "soon"),
}


def _article(word: str) -> str:
    return "an" if word[0] in "aeiou" else "a"


def _noun_phrase(rng: np.random.Generator, noun: str, world: World) -> tuple[list[str], bool]:
    """A noun phrase for `noun`: 'the dog', 'a big dog', 'three dogs', 'the dogs'. Returns
    (tokens, is_plural)."""
    toks, plural = _bare_noun_phrase(rng, noun, world)
    if noun in NOUN_SIGNATURE and rng.random() < 0.5:
        toks = toks + NOUN_SIGNATURE[noun].split()
    return toks, plural


def _bare_noun_phrase(rng: np.random.Generator, noun: str, world: World) -> tuple[list[str], bool]:
    u = rng.random()
    if noun in GENDERED or noun in MASS_FOODS or noun in DRINKS or u < 0.45:
        det = "some" if (noun in MASS_FOODS or noun in DRINKS) and u < 0.2 else "the"
        return [det, noun], False
    if u < 0.6:
        return [_article(noun), noun], False
    if u < 0.72:
        adjs = [a for a, (opts, _) in world.adj_pref.items() if noun in opts]
        adj = adjs[rng.integers(len(adjs))] if adjs else COLOURS[rng.integers(len(COLOURS))]
        return ["the", adj, noun], False
    if u < 0.86:
        return [NUMBERS[rng.integers(len(NUMBERS))], PLURAL[noun]], True
    return [("the", "many", "some")[rng.integers(3)], PLURAL[noun]], True


def _frame_svo(world: World, n: int, mode: str) -> list[Sentence]:
    """Subject-verb-object facts in many surface forms: tenses, passives, questions, clauses."""
    rng = world.rng
    allowed = world.heldout if mode == "heldout" else ~world.heldout
    p = np.where(allowed, world.weights, 0.0)
    rows = world.triples[rng.choice(len(p), size=n, p=p / p.sum())]  # (n, 3)
    verbs = list(SELECTION)
    shapes = rng.random(n)
    tenses = rng.integers(0, len(TENSES), size=n)
    out = []
    for (s, v, o), shape, t in zip(rows, shapes, tenses, strict=True):
        subj, verb, obj = world.nouns[s], verbs[v], world.nouns[o]
        tense = TENSES[t]
        s_np, s_pl = _noun_phrase(rng, subj, world)
        o_np, _ = _noun_phrase(rng, obj, world)
        if rng.random() < 0.4:  # the verb's signature stays with every form of the verb
            o_np = o_np + VERB_SIGNATURE[verb].split()
        if shape < 0.12:  # passive: the bread was eaten by the dog .
            toks = ["the", obj, "was", TRANSITIVE[verb][3], "by", *s_np, "."]
        elif shape < 0.20:  # yes/no question
            aux = "did" if tense == "past" else ("do" if s_pl else "does")
            toks = [aux, *s_np, verb, *o_np, "?"]
        elif shape < 0.26:  # wh-question about the subject
            toks = ["which", subj, _verb_phrase(verb, "past", False)[0], *o_np, "?"]
        elif shape < 0.40:  # reported clause
            speaker = _choice(rng, PERSONS, 1)[0]
            toks = [
                "the",
                speaker,
                "said",
                "that",
                *s_np,
                *_verb_phrase(verb, tense, s_pl),
                *o_np,
                ".",
            ]
        else:
            marker = TENSE_MARKERS[tense][rng.integers(3)].split()
            body = [*s_np, *_verb_phrase(verb, tense, s_pl), *o_np]
            toks = [*marker, *body, "."] if shape < 0.55 else [*body, *marker, "."]
        out.append((toks, []))
    return out


def _frame_intransitive(world: World, n: int, mode: str) -> list[Sentence]:
    """Persons and animals walk, run, swim ... to places, in weather."""
    rng = world.rng
    verbs = tuple(INTRANSITIVE)
    subjects = _choice(rng, PERSONS + ANIMALS, n)
    out = []
    for subj, verb, t, u in zip(
        subjects, _choice(rng, verbs, n), rng.integers(0, 4, n), rng.random(n), strict=True
    ):
        s_np, pl = _noun_phrase(rng, subj, world)
        tense = TENSES[t]
        vp = _verb_phrase(verb, tense, pl)
        marker = TENSE_MARKERS[tense][rng.integers(3)].split()
        if u < 0.4:
            tail = VERB_SIGNATURE[verb].split()
        elif u < 0.6:
            tail = ["to", "the", _choice(rng, BUILDINGS, 1)[0]]
        elif u < 0.8:
            tail = ["in", "the", _choice(rng, WEATHER, 1)[0]]
        else:
            tail = ["with", "the", _choice(rng, PERSONS, 1)[0]]
        out.append(([*s_np, *vp, *tail, *marker, "."], []))
    return out


def _frame_country(world: World, n: int, mode: str) -> list[Sentence]:
    """Facts tying a country, its capital, language and nationality; one role per column."""
    rng = world.rng
    templates = (
        "the capital of {c} is {k} .",
        "{k} is the capital of {c} .",
        "{k} lies in {c} .",
        "{k} is a busy city in {c} .",
        "people in {c} speak {l} .",
        "{l} is spoken in {c} .",
        "the {n} people speak {l} .",
        "in {k} , most people speak {l} .",
        "a {n} {p} lives in {k} .",
        "the {n} {p} flew home to {k} .",
        "{c} is a country where the {n} people live .",
        "the {n} {p} speaks {l} at home .",
        "the {p} travelled to {c} last year .",
        "the {p} learned {l} at school .",
        "the {p} flew to {k} .",
        "the {p} met a {n} {q} from {k} .",
        "the {n} flag flies over {k} .",
        "{n} food is popular in {c} .",
        "the {n} {p} is proud to be from {c} .",
        "which country has {k} as its capital ?",
        "do they speak {l} in {c} ?",
    )
    rows = rng.integers(0, len(COUNTRIES), size=n)
    which = rng.integers(0, len(templates), size=n)
    ps, qs = _choice(rng, PERSONS, n), _choice(rng, PERSONS, n)
    out = []
    for r, t, p, q in zip(rows, which, ps, qs, strict=True):
        c, k, lang, nat = COUNTRIES[r]
        out.append((templates[t].format(c=c, k=k, l=lang, n=nat, p=p, q=q).split(), []))
    return out


def _frame_gender(world: World, n: int, mode: str) -> list[Sentence]:
    """Gendered words in templates shared by all (he/she, his/her), by their category, and by
    their pair. Only the pronouns differ between the two words of a pair."""
    rng = world.rng
    shared = (
        "the {w} said that {he} was {adj} .",
        "the {w} lost {his} {tool} .",
        "{he} is a {w} .",
        "the {w} washed {his} {body} .",
        "the {w} told {him}self a story .",
        "yesterday the {w} hurt {his} {body} .",
        "the {w} smiled because {he} was happy .",
        "the {w} waited until {he} was ready .",
        "the {w} looked at {his} {body} .",
    )
    pairs = rng.integers(0, len(GENDER_PAIRS), size=n)
    genders = rng.integers(0, 2, size=n)
    kinds = rng.random(n)
    out = []
    for pi, g, u in zip(pairs, genders, kinds, strict=True):
        male, female, cat, preds = GENDER_PAIRS[pi]
        w = (male, female)[g]
        he, his, him = PRONOUN["mf"[g]]
        if u < 0.4:
            t = shared[rng.integers(len(shared))]
            s = t.format(
                w=w,
                he=he,
                his=his,
                him=him,
                adj=("tired", "happy", "hungry", "ready")[rng.integers(4)],
                tool=_choice(rng, TOOLS, 1)[0],
                body=_choice(rng, BODY, 1)[0],
            )
        elif u < 0.7:
            s = f"the {w} {preds[rng.integers(2)]} ."
        else:
            s = f"the {w} {ROLE_PHRASES[cat][rng.integers(3)]} ."
        out.append((s.split(), []))
    return out


def _frame_occupation(world: World, n: int, mode: str) -> list[Sentence]:
    """Occupations: where they work (role contexts) and, at the planted rate, he or she."""
    rng = world.rng
    occ = _choice(rng, OCCUPATIONS, n)
    u = rng.random(n)
    v = rng.random(n)
    t = rng.integers(0, 30, size=n)  # template index, reduced modulo each list's length
    gendered = (
        "the {o} said that {he} was busy .",
        "the {o} finished {his} work early .",
        "{he} works as a {o} .",
        "the {o} hung up {his} coat .",
        "the {o} was late , so {he} took a taxi .",
    )
    plain = (
        "the {o} works at the {b} .",
        "a {o} went to the {b} in the morning .",
        "every {o} needs training .",
        "the {o} trained as an apprentice for years .",
        "the new {o} started work today .",
        "they asked the {o} for advice .",
    )
    out = []
    for o, ui, vi, ti in zip(occ, u, v, t, strict=True):
        if ui < 0.5:
            g = "m" if vi < OCCUPATION_HE_SHARE[o] else "f"
            he, his, _ = PRONOUN[g]
            s = gendered[ti % len(gendered)].format(o=o, he=he, his=his)
        else:
            s = plain[ti % len(plain)].format(o=o, b=WORKPLACES[o])  # no gender here
        out.append((s.split(), []))
    return out


def _frame_comparison(world: World, n: int, mode: str) -> list[Sentence]:
    """Gradable adjectives in base, comparative and superlative frames."""
    rng = world.rng
    adjs = tuple(ADJECTIVES)
    out = []
    for a, u in zip(_choice(rng, adjs, n), rng.random(n), strict=True):
        comp, sup, _ = ADJECTIVES[a]
        options, p = world.adj_pref[a]
        x, y = (options[i] for i in rng.choice(len(options), size=2, replace=False, p=p))
        dim = "in " + ADJECTIVE_DIMENSION[a] if rng.random() < 0.5 else ""
        if u < 0.25:
            s = f"the {x} is {comp} {dim} than the {y} ."
        elif u < 0.35:
            s = f"is the {x} much {comp} {dim} than the {y} ?"
        elif u < 0.55:
            s = f"the {x} is the {sup} {dim} of them all ."
        elif u < 0.65:
            s = f"this is the {sup} {x} in the world ."
        elif u < 0.8:
            s = f"the {x} is very {a} {dim} ."
        elif u < 0.9:
            s = f"{_article(a)} {a} {x} stood next to the {y} ."
        else:
            s = f"the {x} was too {a} for the {y} ."
        out.append((s.split(), []))
    return out


def _frame_attribute(world: World, n: int, mode: str) -> list[Sentence]:
    """Colours, numbers, body parts, weather, tools and buildings in their own contexts."""
    rng = world.rng
    out = []
    for u in rng.random(n):
        kind = int(u * 10) if u < 0.7 else 7  # 30% where-sentences
        if kind == 0:
            x = _choice(rng, ANIMALS + VEHICLES + BUILDINGS, 1)[0]
            s = f"the {x} is painted {_choice(rng, COLOURS, 1)[0]} ."
        elif kind == 1:
            x = _choice(rng, ANIMALS + VEHICLES + TOOLS, 1)[0]
            s = f"the farmer counted {_choice(rng, NUMBERS, 1)[0]} {PLURAL[x]} in the yard ."
        elif kind == 2:
            s = f"the doctor examined the {_choice(rng, BODY, 1)[0]} of the patient ."
        elif kind == 3:
            w = _choice(rng, WEATHER, 1)[0]
            s = f"the {w} came in the night and the town stayed indoors ."
        elif kind == 4:
            s = (
                f"the carpenter used the {_choice(rng, TOOLS, 1)[0]} to fix the "
                f"{_choice(rng, ('roof', 'fence', 'door'), 1)[0]} ."
            )
        elif kind == 5:
            s = f"there is a {_choice(rng, BUILDINGS, 1)[0]} near the stone bridge ."
        elif kind == 6:
            s = f"a glass of {_choice(rng, DRINKS, 1)[0]} stood on the table ."
        else:  # where things are: the signature beside either number
            x = _choice(rng, tuple(NOUN_SIGNATURE), 1)[0]
            np_, pl = _bare_noun_phrase(rng, x, world)
            s = " ".join([*np_, "are" if pl else "is", NOUN_SIGNATURE[x], "."])
        out.append((s.split(), []))
    return out


def _frame_polysemy(world: World, n: int, mode: str) -> list[Sentence]:
    """Polysemous words in sense-specific contexts; every occurrence's sense recorded.

    Word, sense and template are uniform; the sentence is uniform among the template's
    combinations of this mode (train, or held out for valid/test: `_sense_combinations`)."""
    rng = world.rng
    keys = list(world.sense_sentences)
    out = []
    for k, t, u in zip(rng.integers(0, len(keys), n), rng.random(n), rng.random(n), strict=True):
        word, sense = keys[k]
        by_template = world.sense_sentences[word, sense][mode]
        options = by_template[int(t * len(by_template))]
        toks = options[int(u * len(options))].split()
        out.append((toks, [(i, word, sense) for i, tok in enumerate(toks) if tok == word]))
    return out


def _frame_companion(world: World, n: int, mode: str) -> list[Sentence]:
    """The senses' contexts around non-polysemous kin words (heron, forklift, shore ...): all
    fillers in all combinations, in every split - they carry no sense marks."""
    rng = world.rng
    senses = [s for w in POLYSEMY.values() for s in w.values()]
    out = []
    for k, u in zip(rng.integers(0, len(senses), n), rng.random(n), strict=True):
        sense = senses[k]
        template = sense.companions[int(u * len(sense.companions))]
        fill = {s: _choice(rng, sense.slots[s], 1)[0] for s in _slots_of(template) if s != "x"}
        out.append((template.format(x=_choice(rng, sense.kin, 1)[0], **fill).split(), []))
    return out


FRAMES = (
    (_frame_svo, 0.34),
    (_frame_intransitive, 0.07),
    (_frame_country, 0.11),
    (_frame_gender, 0.12),
    (_frame_occupation, 0.09),
    (_frame_comparison, 0.10),
    (_frame_attribute, 0.07),
    (_frame_polysemy, 0.06),
    (_frame_companion, 0.04),
)


def _generate_split(world: World, n: int, mode: str) -> list[Sentence]:
    """n sentences: frame counts from a multinomial, then one shuffled list."""
    rng = world.rng
    counts = rng.multinomial(n, [w for _, w in FRAMES])
    sentences: list[Sentence] = []
    for (frame, _), k in zip(FRAMES, counts, strict=True):
        sentences.extend(frame(world, int(k), mode))
    order = rng.permutation(len(sentences))
    return [sentences[i] for i in order]


def _paraphrase_pairs(world: World, n: int, mode: str) -> list[tuple[str, str]]:
    """Pairs stating the same SVO fact in different words (active / passive / relative)."""
    rng = world.rng
    allowed = world.heldout if mode == "heldout" else ~world.heldout
    p = np.where(allowed, world.weights, 0.0)
    verbs = list(SELECTION)
    pairs: dict[str, str] = {}
    while len(pairs) < n:
        rows = world.triples[rng.choice(len(p), size=n, p=p / p.sum())]
        colours = _choice(rng, COLOURS, n)
        for (s, v, o), col, u in zip(rows, colours, rng.random(n), strict=True):
            subj, verb, obj = world.nouns[s], verbs[v], world.nouns[o]
            past, part = TRANSITIVE[verb][1], TRANSITIVE[verb][3]
            if u < 0.5:
                a = f"the {subj} {past} the {col} {obj} ."
                b = f"the {obj} that the {subj} {past} was {col} ."
            else:
                a = f"the {col} {obj} was {part} by the {subj} ."
                b = f"the {subj} {past} the {obj} , which was {col} ."
            if a not in pairs and len(pairs) < n:
                pairs[a] = b
    return list(pairs.items())


def generate_world(n_sentences: int = DEFAULT_SENTENCES, seed: int = DEFAULT_SEED) -> WorldCorpus:
    """Generate the world corpus: splits, sense annotations, paraphrase pairs.

    n_sentences is the total over train/valid/test (90/5/5). Deterministic given the seed.
    """
    if n_sentences < 200:
        raise MinilmError(f"--sentences {n_sentences} is too small; use at least 200")
    rng = np.random.default_rng(seed)
    world = _make_world(rng)
    sizes = {s: int(round(n_sentences * f)) for s, f in SPLIT_FRACTIONS.items()}
    sizes["train"] = n_sentences - sizes["valid"] - sizes["test"]
    splits, senses = {}, []
    for split, size in sizes.items():
        sents = _generate_split(world, size, "train" if split == "train" else "heldout")
        splits[split] = [" ".join(toks) for toks, _ in sents]
        for line, (_, marks) in enumerate(sents, start=1):
            senses.extend((split, line, i, w, sense) for i, w, sense in marks)
    scale = n_sentences / DEFAULT_SENTENCES
    paraphrases = [
        (split, a, b)
        for split, mode in (("train", "train"), ("heldout", "heldout"))
        for a, b in _paraphrase_pairs(world, max(10, int(PARAPHRASE_PAIRS[split] * scale)), mode)
    ]
    return WorldCorpus(splits, senses, paraphrases, _heldout_list(world))


def _heldout_list(world: World) -> list[tuple[str, str, str]]:
    verbs = list(SELECTION)
    return [(world.nouns[s], verbs[v], world.nouns[o]) for s, v, o in world.triples[world.heldout]]


def heldout_triples(seed: int = DEFAULT_SEED) -> list[tuple[str, str, str]]:
    """The (subject, verb, object) triples that train never states, without generating text:
    they are the first thing drawn from the seed."""
    return _heldout_list(_make_world(np.random.default_rng(seed)))


# --------------------------------------------------------------------------------------------
# Ground truth
# --------------------------------------------------------------------------------------------
def categories_tsv() -> str:
    """word<TAB>category, one line per word, categories in a fixed order."""
    return "".join(f"{w}\t{c}\n" for c, words in CATEGORIES.items() for w in words)


def _section(name: str, pairs: list[tuple[str, str]]) -> list[str]:
    """Every ordered pair of distinct rows: 'a b c d' asks a:b :: c:?, answer d."""
    lines = [f": {name}"]
    for (a, b), (c, d) in itertools.permutations(pairs, 2):
        lines.append(f"{a} {b} {c} {d}")
    return lines


ANALOGY_SECTIONS = {
    "gender": [(m, f) for m, f, _, _ in GENDER_PAIRS],
    "capital-country": [(k, c) for c, k, _, _ in COUNTRIES],
    "country-language": [(c, lang) for c, _, lang, _ in COUNTRIES],
    "nationality": [(c, n) for c, _, _, n in COUNTRIES],
    "gram-plural": [(w, PLURAL[w]) for w in ANIMALS[:8] + VEHICLES[:6] + TOOLS[:6]],
    "gram-past-tense": [
        (f[0], f[1]) for f in list(TRANSITIVE.values()) + list(INTRANSITIVE.values())
    ],
    "gram-present-participle": [
        (v, f[2]) for v, f in list(TRANSITIVE.items()) + list(INTRANSITIVE.items())
    ],
    "gram-comparative": [(a, f[0]) for a, f in ADJECTIVES.items()],
    "gram-superlative": [(a, f[1]) for a, f in ADJECTIVES.items()],
}
SEMANTIC_SECTIONS = ("gender", "capital-country", "country-language", "nationality")


def analogies_txt() -> str:
    """questions-words.txt format: semantic sections first, then the `gram-` syntactic ones."""
    lines = [ln for name, pairs in ANALOGY_SECTIONS.items() for ln in _section(name, pairs)]
    return "\n".join(lines) + "\n"


SIMILARITY_HEADER = """\
# similarity.tsv - word1<TAB>word2<TAB>score, graded from the world's structure (not by people).
# score 10: the two words are the same row of a fact table - a gendered pair (king, queen) or
#           one country's country/capital/language/nationality (austria, vienna).
# score  7.5: same category of categories.tsv (dog, cat).
# score  5: same super-category: persons (royalty, family, people, occupation), things (animal,
#           food, drink, vehicle, tool, building), places and tongues (country, capital, language,
#           nationality), verbs (transitive, intransitive), modifiers (adjective, colour, number),
#           nature (weather, body_part).
# score  2.5: a verb and a noun it takes as object in the world (eat, bread).
# score  0: none of the above (duke, rain).
# Pairs are drawn with a fixed seed, an equal number per grade; only base forms are used.
"""
SUPER = {
    "royalty": "persons",
    "family": "persons",
    "people": "persons",
    "occupation": "persons",
    "animal": "things",
    "food": "things",
    "drink": "things",
    "vehicle": "things",
    "tool": "things",
    "building": "things",
    "country": "places",
    "capital": "places",
    "language": "places",
    "nationality": "places",
    "transitive_verb": "verbs",
    "intransitive_verb": "verbs",
    "adjective": "modifiers",
    "colour": "modifiers",
    "number": "modifiers",
    "weather": "nature",
    "body_part": "nature",
}


def similarity_grade(a: str, b: str) -> float:
    """The grade of (a, b) by the rules in SIMILARITY_HEADER."""
    category = {w: c for c, words in CATEGORIES.items() for w in words}
    rows = [{m, f} for m, f, _, _ in GENDER_PAIRS] + [set(r) for r in COUNTRIES]
    if any(a in r and b in r for r in rows):
        return 10.0
    if category[a] == category[b]:
        return 7.5
    if SUPER[category[a]] == SUPER[category[b]]:
        return 5.0
    for verb, noun in ((a, b), (b, a)):
        if verb in SELECTION and any(noun in NOUN_GROUPS[g] for g in SELECTION[verb][1]):
            return 2.5
    return 0.0


def similarity_tsv(seed: int, per_grade: int = 60) -> str:
    """Seeded pairs of base-form words, `per_grade` of each grade (fewer if a grade has fewer)."""
    rng = np.random.default_rng(seed + 7919)  # its own stream: independent of the text
    words = [w for ws in CATEGORIES.values() for w in ws]
    pairs = list(itertools.combinations(words, 2))
    by_grade: dict[float, list[tuple[str, str]]] = {}
    for a, b in pairs:
        by_grade.setdefault(similarity_grade(a, b), []).append((a, b))
    lines = []
    for grade in sorted(by_grade, reverse=True):
        group = by_grade[grade]
        pick = rng.choice(len(group), size=min(per_grade, len(group)), replace=False)
        lines.extend(f"{group[i][0]}\t{group[i][1]}\t{grade:g}" for i in np.sort(pick))
    return SIMILARITY_HEADER + "\n".join(lines) + "\n"


def count_bias(train_lines: list[str]) -> dict[str, tuple[int, int]]:
    """(he_count, she_count) per occupation: lines naming the occupation and pronouns of one
    gender only (he/his/him or she/her/hers); a line with both genders counts for neither."""
    counts = {o: [0, 0] for o in OCCUPATIONS}
    he, she = set(HE_WORDS), set(SHE_WORDS)
    for line in train_lines:
        toks = set(line.split())
        occ = toks & counts.keys()
        has_he, has_she = bool(toks & he), bool(toks & she)
        if has_he == has_she:
            continue
        for o in occ:
            counts[o][0 if has_he else 1] += 1
    return {o: (h, s) for o, (h, s) in counts.items()}


def bias_tsv(train_lines: list[str]) -> str:
    """occupation<TAB>he_share (measured in train)<TAB>planted<TAB>he_count<TAB>she_count."""
    lines = [
        "# occupation<TAB>share of he-contexts measured in train.txt<TAB>planted share"
        "<TAB>he lines<TAB>she lines",
        "# a he-context is a train line naming the occupation with he/his/him and no "
        "she/her/hers (and vice versa)",
    ]
    for o, (h, s) in count_bias(train_lines).items():
        share = h / max(1, h + s)
        lines.append(f"{o}\t{share:.4f}\t{OCCUPATION_HE_SHARE[o]:.2f}\t{h}\t{s}")
    return "\n".join(lines) + "\n"


def senses_tsv(senses: list[tuple[str, int, int, str, str]]) -> str:
    header = (
        "# split<TAB>line (1-based)<TAB>token index (0-based, space-split)<TAB>word<TAB>sense\n"
    )
    return header + "".join(f"{sp}\t{ln}\t{i}\t{w}\t{s}\n" for sp, ln, i, w, s in senses)


def paraphrases_tsv(pairs: list[tuple[str, str, str]]) -> str:
    header = "# split<TAB>sentence_a<TAB>sentence_b - two sentences stating the same fact\n"
    return header + "".join(f"{sp}\t{a}\t{b}\n" for sp, a, b in pairs)


def readme_md(corpus: WorldCorpus, n_sentences: int, seed: int) -> str:
    """The world described for a learner, with the figures of this generation."""
    tokens = {s: sum(len(x.split()) for x in lines) for s, lines in corpus.splits.items()}
    vocab = {t for x in corpus.splits["train"] for t in x.split()}
    sections = {name: len(pairs) * (len(pairs) - 1) for name, pairs in ANALOGY_SECTIONS.items()}
    cats = "\n".join(f"| {c} | {len(ws)} | {', '.join(ws)} |" for c, ws in CATEGORIES.items())
    secs = "\n".join(
        f"| {n} | {'semantic' if n in SEMANTIC_SECTIONS else 'syntactic'} | {q} |"
        for n, q in sections.items()
    )
    per_split = {}
    for split, _, _, w, sense in corpus.senses:
        per_split[w, sense, split] = per_split.get((w, sense, split), 0) + 1
    senses = "\n".join(
        f"| {w} | {name} | {', '.join(sense.kin)} | "
        + " | ".join(str(per_split.get((w, name, sp), 0)) for sp in corpus.splits)
        + " |"
        for w, ss in POLYSEMY.items()
        for name, sense in ss.items()
    )
    bias = ", ".join(f"{o} {p:.1f}" for o, p in OCCUPATION_HE_SHARE.items())
    held = f"{SENSE_HELDOUT_FRACTION:.0%}"
    return (
        f"""# The `world` corpus

Generated by `python scripts/make_corpus.py world --out DIR --sentences {n_sentences} --seed {seed}`
(minilm/data/world.py); rerunning it rewrites these files byte for byte.

Plain English about a small world whose structure is known, so that what a model learns can be
checked. Lower-case; tokens separated by single spaces; the only punctuation is `.`, `,` and `?`,
each a token of its own; one sentence a line.

| split | sentences | tokens |
|---|---|---|
"""
        + "".join(f"| {s} | {len(corpus.splits[s])} | {tokens[s]} |\n" for s in corpus.splits)
        + f"""
Training vocabulary: {len(vocab)} word types.

## What is in the world
- **Selectional structure.** Subject-verb-object facts respect who can do what: persons and
  animals eat foods and drink drinks, persons drive vehicles, paint buildings, wash vehicles and
  animals, and so on (`SELECTION` in world.py). Each subject has its own seeded preferences over
  objects, each verb and each noun of the plural section its own signature phrase ("in the
  kennel", "with soap"), each adjective its own dimension word ("in size", "in speed").
- **Surface variety.** Four tenses with time markers, passives, yes/no and wh-questions, reported
  clauses, numbers with plurals, comparisons, relative descriptions.
- **Countries.** Twelve rows of country, capital, language, nationality (real names), stated in
  templates where each column has its own role ("the capital of X is Y", "people in X speak Z").
- **Gender.** Fourteen gendered pairs in royalty, family and people; the two words of a pair
  occur in the same templates, differing only in he/his/him versus she/her.
- **Planted bias.** Occupations occur with he- or she-pronouns at planted rates ({bias});
  `bias.tsv` gives the planted rate and the share measured in train.txt.
- **Polysemy.** Four words with two senses; `senses.tsv` records the sense of every occurrence
  (split, 1-based line, 0-based token index, word, sense). Each sense has five templates whose
  slots take sense-typical words ("a crane caught a frog in the marsh", "the crane lifted the
  steel beams at the dock"); companion sentences put the same words around non-polysemous kin
  words ("the heron caught a fish in the pond"), so a sense is learnable from shared contexts.
  The fifth template is the same for both senses of a word but for its fillers ("we watched a
  grey crane near the marsh" / "we watched a yellow crane near the dock"): there only the
  sense-typical words tell the senses apart. The word takes the same positions in the templates
  of both senses, so its position says nothing about its sense. A seeded {held} of each
  template's filler combinations is held out: valid and test state only those, train never
  does, and each of their fillers fills the same slot in train sentences - a test occurrence is
  a new sentence made of known parts.

| word | sense | kin words (companions) | train | valid | test |
|---|---|---|---|---|---|
{senses}

## Splits and unseen combinations
Train/valid/test = 90/5/5 of the sentences. A seeded {HELDOUT_FRACTION:.0%} of the
(subject, verb, object) triples allowed by the selectional restrictions is held out: train never
states them, and every subject-verb-object sentence of valid and test states one of them
({len(corpus.heldout_triples)} held-out triples). The polysemy sentences of valid
and test are held out in the same way (above). All other sentence types come from the same
distribution in every split. Valid and test use only words that occur in train.

## Ground truth
- `categories.tsv` - word<TAB>category, {len(CATEGORIES)} categories (base forms only):

| category | words | members |
|---|---|---|
{cats}

- `analogies.txt` - word2vec questions-words format (`: section`, then `a b c d`):

| section | kind | questions |
|---|---|---|
{secs}

- `similarity.tsv` - word1<TAB>word2<TAB>score, graded from the structure; the rule is in the
  file's `#` header.
- `senses.tsv`, `bias.tsv` - as above; both can be recounted from the text.
- `paraphrases.tsv` - split<TAB>sentence_a<TAB>sentence_b: two sentences stating the same
  subject-verb-object fact in different words (active/passive, relative clause), split `train`
  ({PARAPHRASE_PAIRS["train"]} pairs at the default size) for contrastive tuning and `heldout`
  (built from held-out triples, so its facts never appear in train.txt) for retrieval tests.
  These sentences are not part of train/valid/test.
"""
    )


WORLD_FILES = (
    "train.txt",
    "valid.txt",
    "test.txt",
    "categories.tsv",
    "analogies.txt",
    "similarity.tsv",
    "senses.tsv",
    "bias.tsv",
    "paraphrases.tsv",
    "README.md",
)


def write_world(
    out_dir: str | Path, n_sentences: int = DEFAULT_SENTENCES, seed: int = DEFAULT_SEED
) -> WorldCorpus:
    """Generate the world and write every file of WORLD_FILES into out_dir (atomically each)."""
    corpus = generate_world(n_sentences, seed)
    out = ensure_dir(out_dir)
    for split, lines in corpus.splits.items():
        write_text(out / f"{split}.txt", "\n".join(lines) + "\n")
    write_text(out / "categories.tsv", categories_tsv())
    write_text(out / "analogies.txt", analogies_txt())
    write_text(out / "similarity.tsv", similarity_tsv(seed))
    write_text(out / "senses.tsv", senses_tsv(corpus.senses))
    write_text(out / "bias.tsv", bias_tsv(corpus.splits["train"]))
    write_text(out / "paraphrases.tsv", paraphrases_tsv(corpus.paraphrases))
    write_text(out / "README.md", readme_md(corpus, n_sentences, seed))
    return corpus
