"""The world's lexicon: its words, facts and planted rates (the tables every frame draws from)."""

from __future__ import annotations

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
