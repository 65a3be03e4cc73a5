"""The words and templates the demo's names and texts are built from.

Why a module of its own: they are data, not the rating model, and demo.py should read as the model
and its wiring. Words are picked by position from seeded draws, so adding, removing or reordering one
changes the names and texts of every seed, never the ratings (those use other random streams). The
per-genre tables are keyed by the names in demo.GENRES.
"""

# --------------------------------------------------------------------------- people and studios
FIRST_NAMES = (
    "Ava", "Liam", "Olivia", "Noah", "Emma", "Mason", "Sophia", "Lucas", "Mia", "Ethan", "Isla", "Owen",
    "Harper", "Caleb", "Grace", "Henry", "Chloe", "Jack", "Ruby", "Leo", "Nora", "Felix", "Hazel", "Miles",
    "Clara", "Elliot", "Ivy", "Jonah", "Lena", "Oscar", "Maya", "Theo", "Zoe", "Silas", "Iris", "Declan",
    "Vera", "Rowan", "June", "Arthur", "Stella", "Hugo", "Alice", "Victor", "Nina", "Walter", "Rose",
    "Frank", "Edith", "George", "Mabel", "Harold", "Lois", "Ray", "Dolores", "Vincent", "Gloria", "Louis",
    "Irene", "Samuel", "Bess", "Carl", "Joan", "Dennis", "Marion", "Glen", "Sylvia", "Paul", "Diane",
    "Boris", "Greta", "Omar", "Priya", "Kenji", "Amara", "Diego", "Lucia", "Tomas", "Ingrid", "Rafael",
    "Anika", "Malik", "Yara", "Sean", "Fiona", "Marcus", "Renee", "Colin", "Tessa", "Abel", "Freya",
    "Julian", "Adele", "Wesley", "Helen", "Curtis", "Lydia", "Dwight", "Pearl", "Russell",
)
LAST_NAMES = (
    "Brooks", "Hayes", "Carter", "Bennett", "Foster", "Reed", "Sullivan", "Ward", "Porter", "Hughes",
    "Grant", "Fleming", "Marsh", "Holloway", "Pierce", "Lawson", "Whitaker", "Monroe", "Calloway", "Dunn",
    "Barrett", "Crane", "Mercer", "Harlow", "Vance", "Keller", "Sutton", "Ramsey", "Doyle", "Archer",
    "Finch", "Lowell", "Prescott", "Wilder", "Garland", "Hale", "Ellison", "Maddox", "Quinn", "Rhodes",
    "Sterling", "Thorne", "Winslow", "Yates", "Abbott", "Blake", "Conway", "Dalton", "Everett", "Fairbanks",
    "Gibson", "Hartley", "Irving", "Jensen", "Kimball", "Langley", "Morrow", "Nolan", "Osborne", "Pruitt",
    "Rourke", "Shepard", "Tanner", "Underwood", "Vaughn", "Wolfe", "Ashford", "Bishop", "Cross", "Drake",
    "Emerson", "Frost", "Gaines", "Harmon", "Ingram", "Jordan", "Kane", "Lockhart", "McCoy", "Nash",
    "Okafor", "Park", "Rivera", "Santos", "Tanaka", "Novak", "Lindqvist", "Moreau", "Costa", "Petrov",
    "Achebe", "Mendez", "Kowalski", "Brennan", "Castillo", "Delgado", "Fitzgerald", "Greene", "Hollis",
    "Larkin", "Mulligan", "Pemberton", "Sinclair", "Talbot", "Whitfield", "Beaumont", "Caldwell",
    "Donovan", "Eastwood", "Forsythe", "Goodwin", "Holt", "Kerrigan", "Lennox", "Montague", "Prentiss",
)
STUDIO_HEADS = (
    "North", "Silver", "Red", "Blue", "Golden", "Iron", "Star", "Sun", "Moon", "Oak", "Stone", "Bright",
    "Black", "White", "Green", "High", "Deep", "Clear", "Wild", "Grand", "Storm", "Winter", "Summer",
    "Autumn", "Crystal", "Cedar", "Maple", "River", "Lake", "Eagle", "Falcon", "Lion", "Fox", "Wolf",
    "Bear", "Harbor", "Crown", "Royal", "Lantern", "Copper",
)
STUDIO_TAILS = (
    "light", "brook", "stone", "field", "gate", "wood", "ridge", "view", "star", "bridge", "haven", "wave",
    "crest", "peak", "vale", "ford", "mark", "line", "well", "port", "hill", "side", "dale", "wind", "fire",
    "water", "land", "way", "moor", "shore", "point", "glen", "grove", "bay", "rock", "mont", "wick",
    "worth", "cliff", "spire",
)
STUDIO_KINDS = ("Pictures", "Films", "Studios", "Entertainment", "Productions", "Media", "Releasing",
                "Film Company", "Motion Pictures", "Features")

# --------------------------------------------------------------------------- titles
TITLE_ADJECTIVES = (
    "Silent", "Last", "Crimson", "Broken", "Golden", "Lost", "Hidden", "Midnight", "Wild", "Dark", "Final",
    "Endless", "Burning", "Frozen", "Secret", "Little", "Long", "Bright", "Savage", "Sweet", "Perfect",
    "Empty", "Distant", "Hollow", "Forgotten", "Electric", "Lonely", "Bitter", "Quiet", "Restless",
    "Scarlet", "Iron", "Velvet", "Fallen", "Northern", "Second", "Wicked", "Gentle", "Stolen", "Blue",
)
TITLE_NOUNS = (
    "River", "Summer", "Road", "Kingdom", "Night", "Heart", "Shadow", "City", "House", "Game", "Promise",
    "Storm", "Horizon", "Witness", "Garden", "Stranger", "Harbor", "Mirror", "Dream", "Echo", "Fire",
    "Winter", "Hunter", "Island", "Letter", "Machine", "Orchard", "Signal", "Valley", "Wolf", "Crown",
    "Highway", "Ghost", "Daughter", "Secret", "Season", "Empire", "Frontier", "Lullaby", "Affair",
    "Verdict", "Voyage", "Ransom", "Masquerade", "Paradise", "Diner", "Legacy", "Sky", "Border", "Waltz",
)
TITLE_SEQUELS = (" 2", " II", ": Part Two", " Returns")
# {0}=adjective {1}=noun {2}=second noun {3}=sequel mark; small-space templates are rare, so
# about 3% of 1,500 names repeat (the case data: 370 repeated titles in 10,599)
TITLE_TEMPLATES = ("The {0} {1} of the {2}", "{1} of the {0} {2}", "The {0} {1}", "{0} {1}",
                   "{1} of the {2}", "The {1} and the {2}", "{0} {1}{3}", "{1}", "The {1}")
TITLE_TEMPLATE_PROBS = (0.28, 0.28, 0.10, 0.10, 0.10, 0.05, 0.05, 0.02, 0.02)

# --------------------------------------------------------------------------- taglines and descriptions
GENRE_LABELS = {"drama": "drama", "comedy": "comedy", "horror": "horror film", "action": "action film",
                "romance": "romance", "thriller": "thriller", "documentary": "documentary",
                "animation": "animated adventure"}
GENRE_SUBJECTS = {
    "drama": ("a grieving widow", "an aging pianist", "an estranged brother", "a young teacher",
              "a struggling family", "a factory worker", "a small-town doctor", "an immigrant mother"),
    "comedy": ("a hapless groom", "a slacker roommate", "an uptight accountant", "a washed-up comic",
               "a clumsy substitute teacher", "a pair of bumbling thieves", "an overconfident salesman",
               "a chaotic bridal party"),
    "horror": ("a babysitter", "a group of campers", "the new tenant", "a lonely caretaker",
               "a paranormal investigator", "a college student", "a grieving couple", "the night nurse"),
    "action": ("a former soldier", "a rookie cop", "an ex-assassin", "a getaway driver",
               "a special forces team", "a rogue agent", "a bounty hunter", "a retired boxer"),
    "romance": ("a shy florist", "a pen pal", "a widowed baker", "a traveling musician", "a bride-to-be",
                "a childhood sweetheart", "a lonely architect", "a summer intern"),
    "thriller": ("a detective", "an insurance investigator", "a journalist", "a key witness",
                 "a defense lawyer", "an undercover agent", "a paranoid hacker", "a missing woman's sister"),
    "documentary": ("the filmmaker", "a team of scientists", "a veteran journalist", "a local activist",
                    "a wildlife photographer", "a former inmate", "a jazz legend", "a retired astronaut"),
    "animation": ("a curious young fox", "a toy robot", "a brave little mouse", "a young dragon",
                  "a runaway princess", "a lost penguin", "a talking car", "a family of monsters"),
}
GENRE_NOUNS = {
    "drama": ("memory", "loss", "forgiveness", "family", "inheritance", "silence", "home", "grief"),
    "comedy": ("wedding", "road trip", "prank", "mix-up", "bachelor party", "talent show", "family reunion",
               "lottery ticket"),
    "horror": ("curse", "ghost", "cellar", "ritual", "demon", "graveyard", "possession", "slasher"),
    "action": ("heist", "explosion", "car chase", "shootout", "hostage crisis", "mercenary army", "warlord",
               "showdown"),
    "romance": ("first kiss", "love letter", "summer fling", "engagement", "heartbreak", "second chance",
                "secret admirer", "courtship"),
    "thriller": ("conspiracy", "murder", "blackmail", "kidnapping", "cover-up", "alibi", "double-cross",
                 "secret"),
    "documentary": ("history", "climate", "archive", "testimony", "wildlife", "justice", "music industry",
                    "ocean"),
    "animation": ("magic", "adventure", "enchanted forest", "kingdom", "friendship", "treasure", "quest",
                  "talking animals"),
}
GENRE_VERBS = {
    "drama": ("confronts", "returns to", "wrestles with", "slowly rebuilds", "cannot escape",
              "comes to terms with"),
    "comedy": ("botches", "stumbles into", "tries to fake", "accidentally ruins", "bets everything on",
               "crashes"),
    "horror": ("awakens", "is stalked by", "unearths", "cannot outrun", "summons", "is trapped with"),
    "action": ("battles", "races against", "takes down", "fights through", "hunts down", "must stop"),
    "romance": ("falls for", "rediscovers", "cannot forget", "writes to", "is torn over", "chases"),
    "thriller": ("uncovers", "is framed for", "investigates", "is drawn into", "exposes", "cannot trust"),
    "documentary": ("examines", "documents", "revisits", "investigates", "chronicles", "explores"),
    "animation": ("befriends", "sets out to find", "must save", "discovers", "learns about", "teams up with"),
}
TONE_WORDS_HIGH = ("haunting", "tender", "masterful", "luminous", "profound", "quietly devastating",
                   "unforgettable", "richly observed", "beautifully crafted", "intimate", "moving", "lyrical")
TONE_WORDS_LOW = ("loud", "outrageous", "mindless", "cheap", "ridiculous", "over-the-top", "derivative",
                  "clumsy", "shameless", "trashy", "noisy", "formulaic")
PLACES = ("a small town", "New York", "the desert", "a remote island", "Los Angeles", "the suburbs",
          "a snowbound cabin", "1970s Chicago", "a coastal village", "deep space", "the Old West",
          "a boarding school", "Paris", "a city hospital", "the frontier", "a crumbling mansion")
FILLER_SENTENCES = ("Based on a true story.", "Nothing will ever be the same.", "Time is running out.",
                    "Along the way, old secrets surface.", "Adapted from the bestselling novel.",
                    "Some things cannot be undone.", "The truth is stranger than anyone expected.",
                    "Not everyone will make it home.")
# Slots: {0}=subject {1}=verb {2}=noun {3}=second noun {4}=tone word {5}=second tone word {6}=place
#        {7}=genre label
TAGLINE_TEMPLATES = ("{4} and {5}. Unforgettable.", "Every {2} has a price.", "In {6}, {0} {1} the {2}.",
                     "The {2} was only the beginning.", "A {4} story of {2}.", "This time, {0} {1} the {2}.",
                     "{4}, {5} and impossible to forget.", "No {2}. No mercy. No way back.")
DESCRIPTION_TEMPLATES = ("In {6}, {0} {1} the {2}.", "When {0} {1} the {2}, everything changes.",
                         "{0} {1} the {2} in this {4} {7}.", "A {4} tale of {2} and {3}, set in {6}.",
                         "What follows is {4} and {5}.", "{0} {1} a {2} nobody saw coming.")
STORY_TEMPLATE_COUNT = 3                    # the first description sentence is one of the first three
DESCRIPTION_SENTENCES = (1, 4)              # inclusive range of sentences per description
FILLER_SHARE = 0.25                         # chance a later sentence is a genre-free filler
PLACEHOLDER_TAGLINE_SHARE = 0.02            # share of taglines that are a placeholder
PLACEHOLDER_TAGLINES = ("", "...", "Coming soon.", "TBA")
