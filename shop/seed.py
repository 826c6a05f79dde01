"""The shop's seed data: the same 12 categories and 5000 products on every machine, every run.

Both variants load exactly this data on ``reset``, so a benchmark of one is comparable with
a benchmark of the other. Names combine a brand-like word, an adjective, a material and a
product noun; descriptions reuse each category's vocabulary, so products of one category
share words (the "similar products" feature relies on that) and differ from other categories.
"""

from __future__ import annotations

import random
from decimal import Decimal

SEED = 20240611
PRODUCT_COUNT = 5000
LOW_STOCK_SHARE = 0.10
LOW_STOCK_MAX = 5

# Made-up brands, shared by every category: they make most names unique.
BRANDS = (
    "Nordvik", "Alderbrook", "Halden", "Kestrel", "Marlow", "Brightwater", "Oakhurst", "Tidewell",
    "Larkspur", "Ferncliff", "Stonebridge", "Wrenfield", "Copperline", "Silverpine", "Bluecrest",
    "Redfern", "Ashgrove", "Juniper", "Moorland", "Fjordlight", "Emberly", "Quillon", "Vantora",
    "Brookside", "Highcourt", "Pelham", "Calder", "Wexley", "Rowan", "Thistle", "Greyhaven",
    "Northwind", "Saltmarsh", "Birchwood", "Cobalt", "Meridian", "Hollis", "Ardent", "Solstice",
    "Tamsin", "Orrin", "Kelso", "Briar", "Lindqvist", "Aurora", "Pinecrest", "Harrow", "Veltri",
)  # fmt: skip

# One entry per category, in id order (ids 1..12). Each holds the words its names and
# descriptions are built from, and its plausible price range in whole currency units;
# "joiner" (default "in") links the noun to the material in the first sentence.
# fmt: off
CATEGORY_VOCABULARY: tuple[dict, ...] = (
    {
        "slug": "kitchen",
        "name": "Kitchen & Dining",
        "prices": (4, 180),
        "adjectives": ("Classic", "Compact", "Everyday", "Professional", "Rustic", "Nonstick", "Heavy-Duty",
                       "Stackable", "Chef's"),
        "materials": ("Stainless Steel", "Cast Iron", "Bamboo", "Ceramic", "Enamel", "Borosilicate Glass",
                      "Copper", "Olive Wood"),
        "nouns": ("Frying Pan", "Saucepan", "Cutting Board", "Chef Knife", "Mixing Bowl", "Dutch Oven",
                  "Colander", "Salad Spinner", "Teapot", "Measuring Cups", "Baking Tray", "Pepper Mill",
                  "Utensil Set", "Dinner Plate Set", "Coffee Press"),
        "uses": ("for everyday cooking", "for weekend baking", "for family dinners",
                 "for slow braises and stews", "for serving guests at the table"),
        "details": (
            "It heats evenly and holds its temperature, so sauces simmer without scorching.",
            "The handle stays cool on the stove and gives a secure grip.",
            "It is oven safe and works on gas, electric and induction hobs.",
            "The food-safe finish resists stains, odours and scratches from utensils.",
            "Its generous capacity suits meals for four to six people.",
            "Balanced weight makes chopping, stirring and pouring feel effortless.",
        ),
        "care": (
            "Dishwasher safe, though hand washing keeps the kitchen finish like new.",
            "Wash in warm soapy water and dry straight away.",
            "Season lightly with cooking oil after washing to protect the surface.",
        ),
    },
    {
        "slug": "home-decor",
        "name": "Home Decor",
        "prices": (6, 250),
        "adjectives": ("Minimalist", "Vintage", "Scandinavian", "Handwoven", "Modern", "Cosy", "Botanical",
                       "Textured", "Coastal"),
        "materials": ("Linen", "Rattan", "Velvet", "Jute", "Terracotta", "Brass", "Oak", "Wool"),
        "nouns": ("Throw Pillow", "Table Lamp", "Wall Mirror", "Area Rug", "Vase", "Picture Frame",
                  "Candle Holder", "Wall Clock", "Plant Pot", "Curtain Panel", "Throw Blanket",
                  "Bookend Set", "Storage Basket", "Floor Lamp"),
        "uses": ("for the living room", "for a calm bedroom", "for a bright hallway",
                 "for styling shelves and mantels", "for a reading corner"),
        "details": (
            "Its soft, warm tones blend with neutral interiors and bold colour schemes alike.",
            "Each piece is finished by hand, so the texture varies slightly from one to the next.",
            "It adds a layer of texture and warmth to any room.",
            "The timeless shape pairs well with both modern and traditional furniture.",
            "Designed to be a quiet accent rather than the centre of attention.",
            "The natural fibres and muted palette bring a relaxed, lived-in feel to the home.",
        ),
        "care": (
            "Dust gently with a dry cloth.",
            "Spot clean with a damp cloth; avoid direct sunlight to keep the colours rich.",
            "Shake out or vacuum on a low setting to keep the fibres fresh.",
        ),
    },
    {
        "slug": "garden",
        "name": "Garden & Outdoor",
        "prices": (4, 400),
        "adjectives": ("Weatherproof", "Foldable", "Raised", "Solar", "Ergonomic", "Rust-Resistant",
                       "Lightweight", "Sturdy", "Self-Watering"),
        "materials": ("Galvanised Steel", "Teak", "Recycled Plastic", "Acacia", "Powder-Coated Aluminium",
                      "Resin Wicker", "Canvas", "Fibreglass"),
        "nouns": ("Planter", "Garden Hose", "Pruning Shears", "Watering Can", "Bistro Set", "Bird Feeder",
                  "Compost Bin", "Garden Bench", "Lawn Rake", "Greenhouse Shelf", "String Lights", "Hammock",
                  "Wheelbarrow", "Trowel Set"),
        "uses": ("for the patio and balcony", "for vegetable beds", "for lawns and borders",
                 "for summer evenings outdoors", "for seedlings and herbs"),
        "details": (
            "UV-stable and frost-resistant, it stays outside in the garden all year round.",
            "Drainage holes keep roots healthy and soil from waterlogging.",
            "It stands up to rain, sun and wind without fading or cracking.",
            "Cushioned grips reduce strain during long afternoons of digging and pruning.",
            "Easy to assemble, with all fixings included.",
            "Perfect for growing tomatoes, herbs and flowering plants.",
        ),
        "care": (
            "Rinse with a garden hose and let dry in the sun.",
            "Store in a shed or cover over winter to extend its outdoor life.",
            "Oil moving parts at the start of each season.",
        ),
    },
    {
        "slug": "electronics",
        "name": "Electronics",
        "prices": (12, 900),
        "adjectives": ("Wireless", "Portable", "Smart", "Noise-Cancelling", "Rechargeable", "Compact",
                       "High-Fidelity", "Bluetooth", "Waterproof"),
        "materials": ("Matte Black", "Graphite", "Silver Aluminium", "Arctic White", "Midnight Blue",
                      "Carbon Fibre", "Space Grey"),
        "nouns": ("Headphones", "Earbuds", "Speaker", "Smartwatch", "Action Camera", "Power Bank",
                  "Soundbar", "E-Reader", "Fitness Tracker", "Dash Camera", "Radio", "Charging Dock",
                  "Projector", "Turntable"),
        "uses": ("for music on the go", "for home entertainment", "for travel and commuting",
                 "for video calls and podcasts", "for workouts and outdoor adventures"),
        "details": (
            "The battery lasts up to 30 hours and recharges over USB-C in about two hours.",
            "Bluetooth 5.3 pairs quickly and keeps a stable connection across the room.",
            "Rich bass and clear highs come from a carefully tuned audio driver.",
            "A companion app adds firmware updates, equaliser presets and device settings.",
            "Splash and dust resistance make it ready for rain, sand and sweat.",
            "Fast charging gives hours of playback from a ten-minute top-up.",
        ),
        "care": (
            "Includes a USB-C charging cable and a two-year warranty.",
            "Keep the firmware up to date for the best battery life and connectivity.",
            "Wipe with a soft, dry cloth; do not use solvents on the device.",
        ),
    },
    {
        "slug": "computers",
        "name": "Computers & Accessories",
        "prices": (8, 1500),
        "adjectives": ("Mechanical", "Ultra-Slim", "Ergonomic", "Gaming", "Wireless", "Backlit", "Portable",
                       "Low-Profile", "Dual-Band"),
        "materials": ("Aluminium", "ABS", "Tempered Glass", "Brushed Metal", "Soft-Touch", "Fabric-Wrapped",
                      "Anodised"),
        "nouns": ("Keyboard", "Mouse", "Monitor", "Laptop Stand", "USB-C Hub", "External SSD", "Webcam",
                  "Router", "Docking Station", "Laptop Sleeve", "Graphics Tablet", "Desk Mat", "Memory Card",
                  "Laptop"),
        "uses": ("for the home office", "for gaming sessions", "for programmers and designers",
                 "for students and remote workers", "for a tidy, productive desk"),
        "details": (
            "Plug and play on Windows, macOS and Linux with no drivers to install.",
            "USB-C connectivity offers fast data transfer and power delivery.",
            "Its ergonomic design reduces wrist strain during long working days.",
            "Fast read and write speeds keep large files and backups moving quickly.",
            "The adjustable height and angle help you keep a healthy posture at the desk.",
            "Low latency and a precise sensor make it responsive in work and games.",
        ),
        "care": (
            "Backed by a three-year warranty and free software updates.",
            "Compatible with most laptops and desktop computers.",
            "Keep vents clear of dust for reliable, quiet operation.",
        ),
    },
    {
        "slug": "tools",
        "name": "Tools & Home Improvement",
        "prices": (5, 450),
        "adjectives": ("Cordless", "Precision", "Heavy-Duty", "Magnetic", "Adjustable", "Professional",
                       "Compact", "Insulated", "Ratcheting"),
        "materials": ("Chrome Vanadium", "Hardened Steel", "Fibreglass", "Titanium-Coated", "Forged Steel",
                      "Rubber-Grip", "Carbide"),
        "nouns": ("Drill Driver", "Screwdriver Set", "Socket Set", "Claw Hammer", "Tape Measure",
                  "Spirit Level", "Utility Knife", "Wrench", "Pliers", "Stud Finder", "Tool Box",
                  "Work Light", "Hand Saw", "Clamp Set"),
        "uses": ("for DIY projects around the house", "for woodworking and repairs",
                 "for the workshop and garage", "for assembling furniture", "for trade professionals"),
        "details": (
            "Hardened steel tips resist wear and give a firm grip on screws and bolts.",
            "The non-slip handle absorbs vibration and reduces hand fatigue.",
            "A brushless motor delivers strong torque with long battery runtime.",
            "Precision-machined for accurate, repeatable measurements.",
            "Comes in a sturdy carry case that keeps every bit and accessory organised.",
            "Rated for daily use on building sites and in the home workshop.",
        ),
        "care": (
            "Wipe clean after use and store dry to prevent rust.",
            "Lifetime warranty against defects in materials and workmanship.",
            "Charge the battery fully before the first use.",
        ),
    },
    {
        "slug": "toys",
        "name": "Toys & Games",
        "prices": (3, 120),
        "adjectives": ("Colourful", "Educational", "Interactive", "Classic", "Creative", "Junior", "Deluxe",
                       "Magnetic", "Musical"),
        "materials": ("Wood", "Plush", "Cardboard", "Non-Toxic Plastic", "Felt", "Foam", "Recycled Paper"),
        "nouns": ("Building Blocks", "Puzzle", "Board Game", "Train Set", "Teddy Bear", "Doll House", "Kite",
                  "Art Kit", "Card Game", "Marble Run", "Play Kitchen", "Stacking Rings", "Science Kit",
                  "Race Car"),
        "uses": ("for ages 3 and up", "for family game night", "for curious young minds",
                 "for rainy afternoons indoors", "for imaginative play"),
        "details": (
            "It encourages creativity, problem solving and fine motor skills.",
            "Bright colours and friendly shapes keep children engaged for hours.",
            "Safety tested and made with child-safe paints and rounded edges.",
            "Easy rules mean the whole family can play together in minutes.",
            "Pieces store neatly in the box, so tidying up is part of the game.",
            "Supports early learning in counting, colours and shapes.",
        ),
        "care": (
            "Not suitable for children under 3 years because of small parts.",
            "Wipe clean with a damp cloth.",
            "Surface wash only; air dry before playing again.",
        ),
    },
    {
        "slug": "sports",
        "name": "Sports & Fitness",
        "prices": (5, 600),
        "adjectives": ("Lightweight", "Breathable", "Non-Slip", "Adjustable", "Foldable", "Training",
                       "Competition", "All-Terrain", "Quick-Dry"),
        "materials": ("Neoprene", "Carbon", "Natural Rubber", "Nylon", "Memory Foam", "Steel", "Mesh"),
        "nouns": ("Yoga Mat", "Dumbbell Set", "Resistance Bands", "Jump Rope", "Running Shoes",
                  "Water Bottle", "Tennis Racket", "Cycling Helmet", "Foam Roller", "Kettlebell", "Gym Bag",
                  "Football", "Exercise Bike", "Hiking Poles"),
        "uses": ("for home workouts", "for the gym", "for runners and cyclists", "for yoga and stretching",
                 "for trail and team sports"),
        "details": (
            "Built for training every day, from warm-up to cool-down.",
            "A non-slip grip keeps you steady through every rep and stretch.",
            "Lightweight and breathable, so it stays comfortable during long sessions.",
            "Helps build strength, balance and endurance at your own pace.",
            "Folds flat or packs small for the gym bag, the car or travel.",
            "Shock-absorbing cushioning protects the joints on hard surfaces.",
        ),
        "care": (
            "Clean with mild soap and water after each workout.",
            "Air dry away from direct heat.",
            "Check straps and fittings before each training session.",
        ),
    },
    {
        "slug": "clothing",
        "name": "Clothing",
        "prices": (7, 220),
        "adjectives": ("Relaxed-Fit", "Slim-Fit", "Organic", "Waterproof", "Lightweight", "Oversized",
                       "Tailored", "Thermal", "Everyday"),
        "materials": ("Cotton", "Merino Wool", "Denim", "Linen", "Fleece", "Corduroy", "Cashmere Blend",
                      "Recycled Polyester"),
        "nouns": ("T-Shirt", "Hoodie", "Jeans", "Rain Jacket", "Sweater", "Chinos", "Overshirt", "Dress",
                  "Beanie", "Scarf", "Socks Pack", "Puffer Vest", "Shorts", "Cardigan"),
        "uses": ("for everyday wear", "for cold mornings", "for the office and the weekend",
                 "for layering in every season", "for travel and city walks"),
        "details": (
            "Soft, breathable fabric keeps you comfortable from morning to night.",
            "A true-to-size fit with room to move; choose your usual size.",
            "Reinforced seams and a durable weave hold their shape wash after wash.",
            "Pairs easily with the rest of the wardrobe, dressed up or down.",
            "Made with responsibly sourced fibres and low-impact dyes.",
            "Thoughtful details include deep pockets and a tag-free collar.",
        ),
        "care": (
            "Machine wash cold and tumble dry low.",
            "Wash inside out with similar colours; do not bleach.",
            "Hand wash or dry clean to keep the fabric soft.",
        ),
    },
    {
        "slug": "beauty",
        "name": "Beauty & Personal Care",
        "joiner": "with",
        "prices": (3, 90),
        "adjectives": ("Hydrating", "Gentle", "Fragrance-Free", "Nourishing", "Soothing", "Brightening",
                       "Vegan", "Travel-Size", "Refreshing"),
        "materials": ("Aloe Vera", "Argan Oil", "Shea Butter", "Green Tea", "Vitamin C", "Charcoal",
                      "Rosewater", "Hyaluronic Acid"),
        "nouns": ("Face Cream", "Shampoo", "Conditioner", "Body Lotion", "Lip Balm", "Cleanser", "Serum",
                  "Hand Cream", "Face Mask", "Shower Gel", "Hair Oil", "Sunscreen", "Bath Salts", "Toner"),
        "uses": ("for dry and sensitive skin", "for a daily skincare routine", "for healthy, shiny hair",
                 "for a relaxing evening bath", "for all skin types"),
        "details": (
            "A lightweight formula absorbs quickly and leaves skin soft, never greasy.",
            "Dermatologically tested and free from parabens and sulphates.",
            "Natural botanical extracts calm and nourish the skin.",
            "Locks in moisture for up to 24 hours of hydration.",
            "Cruelty-free and packed in a recyclable bottle.",
            "Suitable for daily use, morning and evening.",
        ),
        "care": (
            "For external use only; avoid contact with the eyes.",
            "Store in a cool, dry place away from sunlight.",
            "Patch test on a small area of skin before first use.",
        ),
    },
    {
        "slug": "office",
        "name": "Office Supplies",
        "prices": (2, 300),
        "adjectives": ("Refillable", "Premium", "Ergonomic", "Recycled", "Heavy-Duty", "Compact", "Dotted",
                       "Executive", "Colour-Coded"),
        "materials": ("Kraft Paper", "Leather", "Steel", "Acrylic", "Cork", "Bamboo", "Recycled Cardboard"),
        "nouns": ("Notebook", "Fountain Pen", "Desk Organiser", "Stapler", "File Folder Set", "Whiteboard",
                  "Planner", "Desk Lamp", "Paper Shredder", "Label Maker", "Sticky Notes", "Office Chair",
                  "Pencil Case", "Document Tray"),
        "uses": ("for the office desk", "for meetings and note taking", "for students and teachers",
                 "for planning the week ahead", "for keeping paperwork organised"),
        "details": (
            "Thick, acid-free paper takes ink without bleeding or ghosting.",
            "Keeps pens, papers and documents organised and within easy reach.",
            "Smooth writing and a comfortable grip make long notes a pleasure.",
            "Sturdy construction stands up to daily use in busy offices.",
            "A clean, professional look that suits any desk or meeting room.",
            "Helps you plan, prioritise and track tasks through the working week.",
        ),
        "care": (
            "Made from certified recycled materials.",
            "Refills and replacement parts are sold separately.",
            "Wipe surfaces with a dry cloth to keep them tidy.",
        ),
    },
    {
        "slug": "pets",
        "name": "Pet Supplies",
        "prices": (3, 150),
        "adjectives": ("Orthopaedic", "Chew-Resistant", "Washable", "Reflective", "Interactive", "Calming",
                       "Travel", "Elevated", "Non-Slip"),
        "materials": ("Faux Fur", "Nylon Webbing", "Natural Rubber", "Stainless Steel", "Sisal", "Canvas",
                      "Memory Foam"),
        "nouns": ("Dog Bed", "Cat Tree", "Dog Leash", "Pet Bowl", "Chew Toy", "Scratching Post", "Harness",
                  "Litter Box", "Pet Carrier", "Grooming Brush", "Collar", "Treat Dispenser", "Aquarium Kit",
                  "Bird Cage"),
        "uses": ("for dogs of all sizes", "for indoor cats", "for puppies and kittens",
                 "for walks and road trips", "for senior pets"),
        "details": (
            "Keeps your dog or cat happy, active and comfortable.",
            "Vet-recommended design supports joints and healthy posture.",
            "Tough enough for enthusiastic chewers and playful paws.",
            "Reflective stitching keeps pets visible on evening walks.",
            "Gentle on fur and skin, and easy for owners to clean.",
            "Encourages natural behaviours like scratching, chasing and foraging.",
        ),
        "care": (
            "Removable cover is machine washable.",
            "Supervise your pet during play and replace worn toys.",
            "Rinse with warm water and mild pet-safe soap.",
        ),
    },
)
# fmt: on

PRICE_ENDINGS = (99, 49, 95, 0, 50, 25)

SEED_SUMMARY = {"seed": SEED, "categories": len(CATEGORY_VOCABULARY), "products": PRODUCT_COUNT}


class _Draws:
    """Random choices built only on ``Random.random()``.

    Python guarantees that ``random()`` yields the same sequence for the same seed in every
    version; ``randrange``, ``choice`` and ``shuffle`` carry no such promise, so they are
    avoided here to keep the seed data identical on every machine.
    """

    def __init__(self, seed: int) -> None:
        self._rng = random.Random(seed)

    def below(self, n: int) -> int:
        return int(self._rng.random() * n)

    def between(self, low: int, high: int) -> int:
        """A whole number from low to high, both included."""
        return low + self.below(high - low + 1)

    def pick(self, options: tuple):
        return options[self.below(len(options))]

    def sample(self, options: tuple, k: int) -> list:
        """k distinct options in random order (a partial Fisher-Yates shuffle)."""
        pool = list(options)
        for i in range(k):
            j = i + self.below(len(pool) - i)
            pool[i], pool[j] = pool[j], pool[i]
        return pool[:k]

    def chance(self, probability: float) -> bool:
        return self._rng.random() < probability


def generate() -> tuple[list[dict], list[dict]]:
    """The seed data: (categories, products), identical on every call."""
    draws = _Draws(SEED)
    categories = [
        {"id": number, "slug": vocabulary["slug"], "name": vocabulary["name"]}
        for number, vocabulary in enumerate(CATEGORY_VOCABULARY, start=1)
    ]
    used_names: set[str] = set()  # membership tests only: never iterated, so order cannot leak in
    products = []
    for product_id in range(1, PRODUCT_COUNT + 1):
        category_id = draws.between(1, len(CATEGORY_VOCABULARY))
        vocabulary = CATEGORY_VOCABULARY[category_id - 1]
        name, adjective, material, noun = _unique_name(draws, vocabulary, used_names)
        products.append(
            {
                "id": product_id,
                "category_id": category_id,
                "name": name,
                "description": _description(draws, vocabulary, adjective, material, noun),
                "price": _price(draws, *vocabulary["prices"]),
                "stock": _stock(draws),
            }
        )
    return categories, products


def _unique_name(draws: _Draws, vocabulary: dict, used_names: set[str]) -> tuple[str, str, str, str]:
    while True:
        brand = draws.pick(BRANDS)
        adjective = draws.pick(vocabulary["adjectives"])
        material = draws.pick(vocabulary["materials"])
        noun = draws.pick(vocabulary["nouns"])
        name = f"{brand} {adjective} {material} {noun}"
        words = name.split()
        repeats_a_word = len(set(words)) < len(words)  # no "Kraft Paper Paper Shredder"
        if name not in used_names and not repeats_a_word:
            used_names.add(name)
            return name, adjective, material, noun


def _description(draws: _Draws, vocabulary: dict, adjective: str, material: str, noun: str) -> str:
    """2-4 sentences: what it is and what it is for, then details and care from its category."""
    article = "An" if adjective[0] in "AEIOU" else "A"
    joiner = vocabulary.get("joiner", "in")
    use = draws.pick(vocabulary["uses"])
    opening = f"{article} {_lowercase(adjective)} {_lowercase(noun)} {joiner} {_lowercase(material)}, {use}."
    extra = draws.sample(vocabulary["details"], draws.between(1, 2))
    if draws.chance(0.5):
        extra.append(draws.pick(vocabulary["care"]))
    return " ".join([opening, *extra])


def _lowercase(words: str) -> str:
    """Lowercase for use mid-sentence, keeping acronyms such as SSD or USB-C."""
    return " ".join(
        "-".join(part if part.isupper() else part.lower() for part in word.split("-")) for word in words.split()
    )


def _price(draws: _Draws, low: int, high: int) -> Decimal:
    """Most products are cheap, a few expensive: squaring the draw skews towards ``low``."""
    fraction = draws.below(10_000) / 10_000
    whole = low + int((high - low) * fraction * fraction)
    return Decimal(f"{whole}.{draws.pick(PRICE_ENDINGS):02d}")


def _stock(draws: _Draws) -> int:
    """About one product in ten is nearly sold out (some completely), the rest well stocked."""
    if draws.chance(LOW_STOCK_SHARE):
        return draws.between(0, LOW_STOCK_MAX)
    return draws.between(10, 500)
