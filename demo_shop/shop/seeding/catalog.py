"""Vocabulary of the generated catalog: categories, brands, product types and the words of names.

Every brand, author and artist here is invented. Product types name their *complements* (the
things people buy with them, possibly in another category) so that co-purchases carry structure a
recommender can learn; *consumable* types are the ones customers buy again.
"""

from __future__ import annotations

import math
import random
import re
from dataclasses import dataclass, field

# Brand tiers: a budget, mainstream or premium brand prices its products below, at or above the
# product type's typical price, which gives every product a price band customers can prefer.
BUDGET, MAINSTREAM, PREMIUM = 0, 1, 2
TIER_PRICE_FACTOR = {BUDGET: 0.68, MAINSTREAM: 1.0, PREMIUM: 1.65}


@dataclass(frozen=True)
class ProductType:
    """A kind of product within a category, e.g. "Mirrorless Camera"."""

    noun: str
    base_price: float
    features: tuple[str, ...]
    complements: tuple[str, ...] = ()
    consumable: bool = False
    # Format strings for a title-based name (books, records); the category's templates otherwise.
    titles: tuple[str, ...] = ()


@dataclass(frozen=True)
class CategorySpec:
    name: str
    code: str
    colour: str
    description: str
    brands: tuple[tuple[str, int], ...]
    types: tuple[ProductType, ...]
    adjectives: tuple[str, ...]
    materials: tuple[str, ...]
    templates: tuple[str, ...]
    models: tuple[str, ...]
    sentences: tuple[str, ...]
    # Spread of prices around a type's typical price within one brand tier (log scale).
    price_sigma: float = 0.25
    # Relative interest per calendar month, January first.
    season: tuple[float, ...] = (1.0,) * 12
    tags: tuple[str, ...] = field(default_factory=tuple)


T = ProductType

CATEGORIES: tuple[CategorySpec, ...] = (
    CategorySpec(
        name="Electronics",
        code="ELE",
        colour="#2b6cb0",
        description="Cameras, audio, wearables and the cards and chargers that go with them.",
        brands=(
            ("Voltra", PREMIUM),
            ("Kestrel", PREMIUM),
            ("Nordvik", MAINSTREAM),
            ("Pixora", MAINSTREAM),
            ("Aurex", MAINSTREAM),
            ("Zentro", BUDGET),
            ("Bytewise", BUDGET),
        ),
        types=(
            T(
                "Mirrorless Camera",
                620,
                ("24MP", "4K", "Full-Frame", "Weather-Sealed"),
                ("Memory Card", "Camera Bag", "Camera Tripod"),
            ),
            T(
                "Action Camera",
                210,
                ("4K60", "Waterproof", "Stabilised"),
                ("Memory Card", "Power Bank"),
            ),
            T("Memory Card", 19, ("128GB", "256GB", "64GB", "UHS-II")),
            T("Camera Bag", 45, ("Sling", "Backpack", "Padded")),
            T(
                "Wireless Headphones",
                95,
                ("Noise-Cancelling", "Over-Ear", "Bluetooth 5.3"),
                ("USB-C Charger", "Power Bank"),
            ),
            T("Wireless Earbuds", 65, ("True Wireless", "ANC", "Sport"), ("USB-C Charger",)),
            T("Bluetooth Speaker", 55, ("Waterproof", "360°", "Portable"), ("Power Bank",)),
            T("Smartwatch", 180, ("GPS", "AMOLED", "LTE"), ("Watch Strap",)),
            T(
                "Laptop",
                780,
                ("14-inch", "16GB RAM", "OLED"),
                ("Laptop Sleeve", "Wireless Mouse", "USB-C Hub"),
            ),
            T("Tablet", 330, ("11-inch", "128GB", "Wi-Fi"), ("Tablet Case", "Stylus Pen")),
            T("E-Reader", 110, ("Glare-Free", "Waterproof", "6-inch"), ("Tablet Case", "Novel")),
            T("Power Bank", 28, ("20000mAh", "Fast-Charge", "Slim")),
            T("USB-C Charger", 22, ("65W", "GaN", "Dual-Port")),
            T("Webcam", 60, ("1080p", "4K", "Autofocus"), ("USB Microphone",)),
            T("Camera Tripod", 45, ("Carbon", "Travel", "Ball-Head")),
            T("Stylus Pen", 35, ("Pressure-Sensitive", "Magnetic")),
            T("Tablet Case", 25, ("Folio", "Rugged", "Keyboard")),
            T("Watch Strap", 15, ("Silicone", "Leather", "Milanese")),
        ),
        adjectives=("Compact", "Pro", "Ultra", "Slim", "Essential", "Advanced", "Smart", "Elite"),
        materials=("Aluminium", "Graphite", "Matte Black", "Silver"),
        templates=(
            "{brand} {feature} {noun} {model}",
            "{brand} {adj} {noun} {model}",
            "{brand} {model} {adj} {feature} {noun}",
            "{brand} {adj} {feature} {noun}",
        ),
        models=("X{d}{d}0", "{L}{L}-{d}{d}0", "S{d}", "Mk {r}", "{d}{d}0 Pro", "Air {d}"),
        sentences=(
            "The {adj_l} design slips into a bag without taking up room.",
            "{feature} performance keeps up with everyday use and the occasional big project.",
            "Setup takes minutes, and firmware updates arrive over the air.",
            "The {material_l} finish resists fingerprints and scratches.",
            "Battery life comfortably lasts a long day away from a socket.",
            "Reviewers single out its {feature_l} as best in its class.",
            "It pairs instantly with phones, tablets and laptops.",
        ),
        price_sigma=0.28,
        season=(0.9, 0.85, 0.9, 0.9, 0.9, 0.9, 0.95, 1.0, 1.0, 1.0, 1.45, 1.55),
        tags=("tech", "gadgets", "gift idea"),
    ),
    CategorySpec(
        name="Home & Kitchen",
        code="HOM",
        colour="#c05621",
        description="Cookware, small appliances and the things that make a kitchen work.",
        brands=(
            ("Halden & Co", PREMIUM),
            ("Copperfield", PREMIUM),
            ("Brightwell", MAINSTREAM),
            ("Oakhurst", MAINSTREAM),
            ("Casa Mira", MAINSTREAM),
            ("Kitchly", BUDGET),
            ("Homely", BUDGET),
        ),
        types=(
            T("Cast Iron Skillet", 45, ("Pre-Seasoned", "26cm", "Enamelled"), ("Oven Gloves",)),
            T(
                "Non-Stick Frying Pan",
                32,
                ("28cm", "Induction-Ready", "Ceramic-Coated"),
                ("Spatula Set",),
            ),
            T("Chef's Knife", 55, ("20cm", "Damascus Steel", "Forged"), ("Chopping Board",)),
            T("Chopping Board", 24, ("Large", "Reversible", "End-Grain")),
            T("Coffee Grinder", 65, ("Burr", "Electric", "Manual"), ("Coffee Beans",)),
            T(
                "Espresso Machine",
                240,
                ("15-Bar", "Bean-to-Cup", "Milk Frother"),
                ("Coffee Beans", "Milk Jug"),
            ),
            T("Milk Jug", 14, ("Stainless", "350ml")),
            T("Stand Mixer", 260, ("1000W", "5-Litre", "Planetary"), ("Baking Tin Set",)),
            T("Baking Tin Set", 28, ("3-Piece", "Non-Stick", "Springform")),
            T("Kettle", 40, ("1.7-Litre", "Rapid-Boil", "Temperature Control")),
            T("Oven Gloves", 12, ("Double", "Heat-Resistant")),
            T("Spatula Set", 15, ("Silicone", "5-Piece")),
            T("Duvet Set", 55, ("Double", "King", "400 Thread Count")),
            T("Table Lamp", 48, ("Dimmable", "Touch", "Linen Shade")),
            T("Storage Jar Set", 22, ("Airtight", "6-Piece", "Glass")),
        ),
        adjectives=("Classic", "Everyday", "Signature", "Essential", "Artisan", "Nordic", "Modern"),
        materials=("Stainless Steel", "Cast Iron", "Oak", "Ceramic", "Bamboo", "Copper", "Linen"),
        templates=(
            "{brand} {adj} {material} {noun}",
            "{brand} {feature} {noun}",
            "{brand} {adj} {feature} {noun}",
            "{brand} {material} {noun}, {feature}",
        ),
        models=("",),
        sentences=(
            "Made from {material_l} that heats evenly and lasts for years.",
            "The {adj_l} shape suits both small flats and family kitchens.",
            "Dishwasher safe, so cleaning up takes seconds.",
            "{feature} makes it a favourite of home cooks.",
            "A comfortable handle gives a steady grip.",
            "Backed by a five-year guarantee.",
        ),
        season=(1.05, 0.9, 0.95, 0.95, 0.95, 0.9, 0.9, 0.95, 1.0, 1.05, 1.3, 1.4),
        tags=("kitchen", "home", "cooking"),
    ),
    CategorySpec(
        name="Books",
        code="BOK",
        colour="#6b46c1",
        description="New fiction, cookbooks, travel guides, history and books for children.",
        brands=(
            ("Harrow & Finch", PREMIUM),
            ("Bluewater Press", MAINSTREAM),
            ("Lantern House", MAINSTREAM),
            ("Greyfriars Books", MAINSTREAM),
            ("Paperkite", BUDGET),
        ),
        types=(
            T(
                "Novel",
                11,
                ("Paperback", "Hardback"),
                ("Bookmark Set",),
                titles=("The {t_adj} {t_noun}", "{t_noun} of {place}", "A {t_noun} in {place}"),
            ),
            T(
                "Crime Thriller",
                10,
                ("Paperback", "Hardback"),
                titles=("The {place} {crime}", "{crime} at {t_noun} House", "Dead {t_noun}"),
            ),
            T(
                "Cookbook",
                22,
                ("Hardback", "Illustrated"),
                ("Chef's Knife", "Baking Tin Set"),
                titles=(
                    "{cuisine} Kitchen: {n} Recipes for Every Day",
                    "Simply {cuisine}",
                    "The {cuisine} Table",
                ),
            ),
            T(
                "Travel Guide",
                16,
                ("Paperback", "Pocket Edition"),
                ("Daypack",),
                titles=(
                    "{country}: The Essential Travel Guide",
                    "Walking {country}",
                    "{country} on Foot",
                ),
            ),
            T(
                "Picture Book",
                8,
                ("Board Book", "Paperback"),
                ("Soft Toy",),
                titles=("The Little {animal} Who {verb}", "{animal} and the {t_adj} {t_noun}"),
            ),
            T(
                "Science Fiction Novel",
                12,
                ("Paperback", "Hardback"),
                titles=("The {t_adj} Stars", "Beyond {place}", "{t_noun} Protocol"),
            ),
            T(
                "Biography",
                18,
                ("Hardback", "Paperback"),
                titles=("A Life in {t_noun}s", "The {t_adj} Years", "Notes from {place}"),
            ),
            T(
                "History Book",
                20,
                ("Hardback", "Paperback"),
                titles=("The {t_adj} Century", "{place}: A History", "Empires of {t_noun}"),
            ),
            T("Bookmark Set", 6, ("Leather", "Magnetic")),
        ),
        adjectives=("Bestselling", "Award-Winning", "Acclaimed"),
        materials=("Paper",),
        templates=("{brand} {feature} {noun}",),
        models=("",),
        sentences=(
            "{author} writes with warmth, wit and a sharp eye for detail.",
            "Readers call it impossible to put down.",
            "{A_adj} debut that has been translated into twenty languages.",
            "Perfect for long train journeys and quiet Sunday afternoons.",
            "Includes an interview with the author and notes for reading groups.",
            "Shortlisted for a major literary prize.",
        ),
        price_sigma=0.18,
        season=(1.0, 0.9, 0.9, 0.9, 0.95, 1.05, 1.15, 1.15, 0.95, 0.95, 1.2, 1.5),
        tags=("books", "reading"),
    ),
    CategorySpec(
        name="Fashion",
        code="FSH",
        colour="#b83280",
        description="Clothes, shoes and accessories for every day and every season.",
        brands=(
            ("Maison Verre", PREMIUM),
            ("Ashby & Lowe", PREMIUM),
            ("Northbound", MAINSTREAM),
            ("Thread & Pine", MAINSTREAM),
            ("Urbanite", MAINSTREAM),
            ("Basix", BUDGET),
            ("Loop", BUDGET),
        ),
        types=(
            T("Wool Coat", 140, ("Double-Breasted", "Tailored", "Longline"), ("Scarf",)),
            T("Denim Jacket", 65, ("Oversized", "Cropped", "Classic Fit")),
            T("Chinos", 40, ("Slim Fit", "Regular Fit", "Stretch"), ("Leather Belt",)),
            T("Oxford Shirt", 35, ("Button-Down", "Slim Fit", "Regular Fit")),
            T("Knitted Jumper", 50, ("Crew Neck", "Roll Neck", "Cable-Knit"), ("Scarf",)),
            T("Trainers", 70, ("Low-Top", "Retro", "Everyday"), ("Sports Socks",)),
            T("Chelsea Boots", 95, ("Suede", "Leather", "Water-Resistant")),
            T("Scarf", 22, ("Oversized", "Check", "Ribbed")),
            T("Leather Belt", 28, ("Reversible", "35mm")),
            T("Summer Dress", 45, ("Midi", "Wrap", "Floral")),
            T("Crossbody Bag", 60, ("Mini", "Quilted", "Adjustable")),
            T("Sports Socks", 9, ("3-Pack", "Cushioned"), consumable=True),
        ),
        adjectives=("Classic", "Relaxed", "Heritage", "Essential", "Modern", "Vintage"),
        materials=("Merino Wool", "Organic Cotton", "Linen", "Leather", "Cashmere-Blend", "Suede"),
        templates=(
            "{brand} {adj} {material} {noun}",
            "{brand} {feature} {noun} in {colour}",
            "{brand} {material} {feature} {noun}",
        ),
        models=("",),
        sentences=(
            "Cut from {material_l} that softens with every wear.",
            "The {feature_l} silhouette works with jeans or tailoring alike.",
            "Designed in small batches and finished by hand.",
            "True to size; choose one size up for a looser fit.",
            "Machine washable at 30 degrees.",
            "{A_adj} piece that will last well beyond one season.",
        ),
        season=(1.2, 0.9, 1.0, 1.05, 1.05, 1.0, 1.0, 0.95, 1.1, 1.1, 1.25, 1.2),
        tags=("fashion", "clothing", "style"),
    ),
    CategorySpec(
        name="Sports & Outdoors",
        code="SPO",
        colour="#2f855a",
        description="Kit for running, cycling, yoga, camping and hiking.",
        brands=(
            ("Summit Line", PREMIUM),
            ("Trailforge", PREMIUM),
            ("Peakform", MAINSTREAM),
            ("Riverstone", MAINSTREAM),
            ("Stride", MAINSTREAM),
            ("Actively", BUDGET),
        ),
        types=(
            T(
                "Running Shoes",
                85,
                ("Cushioned", "Trail", "Lightweight"),
                ("Sports Socks", "Running Belt"),
            ),
            T("Running Belt", 15, ("Reflective", "Slim")),
            T("Yoga Mat", 30, ("6mm", "Non-Slip", "Eco"), ("Yoga Block Set",)),
            T("Yoga Block Set", 14, ("Cork", "Foam")),
            T(
                "Two-Person Tent",
                150,
                ("Lightweight", "Waterproof", "3-Season"),
                ("Sleeping Bag", "Camping Stove"),
            ),
            T("Sleeping Bag", 70, ("3-Season", "Mummy", "Down")),
            T("Camping Stove", 45, ("Compact", "Gas", "Folding"), ("Gas Canister",)),
            T("Gas Canister", 6, ("230g", "450g"), consumable=True),
            T("Daypack", 55, ("25L", "Waterproof", "Ventilated"), ("Water Bottle",)),
            T("Water Bottle", 18, ("Insulated", "750ml", "BPA-Free")),
            T("Cycling Helmet", 60, ("MIPS", "Road", "Commuter"), ("Bike Light Set",)),
            T("Bike Light Set", 25, ("USB-Rechargeable", "800 Lumen")),
            T("Resistance Band Set", 20, ("5-Level", "Fabric")),
            T("Protein Powder", 28, ("1kg", "Whey", "Vegan"), ("Shaker Bottle",), consumable=True),
            T("Shaker Bottle", 9, ("700ml", "Leak-Proof")),
        ),
        adjectives=("Pro", "Trail", "Endurance", "All-Weather", "Ultralight", "Performance"),
        materials=("Ripstop Nylon", "Recycled Polyester", "Aluminium", "Merino", "Natural Rubber"),
        templates=(
            "{brand} {adj} {feature} {noun}",
            "{brand} {feature} {noun} {model}",
            "{brand} {noun} {model}, {feature}",
        ),
        models=("{d}0", "{L}{d}", "Trek {d}", "Flow {d}", "Ridge {r}"),
        sentences=(
            "Tested by athletes in conditions from desert heat to alpine rain.",
            "{material} construction keeps the weight down without giving up durability.",
            "The {feature_l} design earns its place on every outing.",
            "Packs down small and clips neatly onto a rucksack.",
            "Built for beginners and seasoned enthusiasts alike.",
            "Covered by a lifetime repair promise.",
        ),
        season=(1.45, 1.1, 1.05, 1.1, 1.15, 1.2, 1.2, 1.1, 0.95, 0.85, 0.8, 0.85),
        tags=("sport", "outdoors", "fitness"),
    ),
    CategorySpec(
        name="Beauty",
        code="BEA",
        colour="#d53f8c",
        description="Skincare, haircare and fragrance.",
        brands=(
            ("Lumière Botanica", PREMIUM),
            ("Velour", PREMIUM),
            ("Fernleaf", MAINSTREAM),
            ("Glow Theory", MAINSTREAM),
            ("Purely", BUDGET),
            ("Daily Dew", BUDGET),
        ),
        types=(
            T(
                "Shampoo",
                9,
                ("Sulphate-Free", "Volumising", "Repairing"),
                ("Conditioner",),
                consumable=True,
            ),
            T("Conditioner", 9, ("Hydrating", "Repairing", "Lightweight"), consumable=True),
            T(
                "Face Serum",
                28,
                ("Vitamin C", "Hyaluronic", "Retinol"),
                ("Moisturiser",),
                consumable=True,
            ),
            T("Moisturiser", 22, ("SPF 30", "Night", "Oil-Free"), consumable=True),
            T("Cleansing Balm", 18, ("Fragrance-Free", "Melting"), consumable=True),
            T("Eau de Parfum", 65, ("50ml", "100ml", "Floral", "Woody")),
            T("Lipstick", 16, ("Matte", "Satin", "Long-Wear")),
            T("Hair Dryer", 70, ("Ionic", "2000W", "Compact")),
            T("Makeup Brush Set", 25, ("Vegan", "12-Piece")),
            T("Sheet Mask Set", 12, ("5-Pack", "Brightening"), consumable=True),
        ),
        adjectives=("Radiant", "Gentle", "Nourishing", "Pure", "Botanical", "Clinical"),
        materials=("Rosehip Oil", "Shea Butter", "Aloe", "Niacinamide", "Jojoba"),
        templates=(
            "{brand} {adj} {feature} {noun}",
            "{brand} {material} {noun}",
            "{brand} {feature} {noun} with {material}",
        ),
        models=("",),
        sentences=(
            "Enriched with {material_l} to leave skin and hair soft.",
            "Dermatologist tested and suitable for sensitive skin.",
            "Vegan, cruelty-free and packed in recycled bottles.",
            "{A_adj} formula that absorbs in seconds.",
            "Visible results in two weeks, according to a consumer trial.",
        ),
        season=(1.0, 1.05, 1.0, 1.0, 1.05, 1.05, 1.0, 0.95, 0.95, 1.0, 1.15, 1.4),
        tags=("beauty", "skincare", "self-care"),
    ),
    CategorySpec(
        name="Toys & Games",
        code="TOY",
        colour="#dd6b20",
        description="Board games, building sets, puzzles and toys for all ages.",
        brands=(
            ("Tinkerwood", PREMIUM),
            ("Brickhaven", MAINSTREAM),
            ("Playfield", MAINSTREAM),
            ("Happy Meeple", MAINSTREAM),
            ("Funbox", BUDGET),
        ),
        types=(
            T("Board Game", 32, ("Strategy", "Family", "Co-Operative"), ("Card Game",)),
            T("Card Game", 12, ("Party", "2-Player", "Pocket")),
            T("Building Set", 45, ("500-Piece", "Technic", "Creative")),
            T("Jigsaw Puzzle", 16, ("1000-Piece", "500-Piece", "Panoramic")),
            T("Wooden Train Set", 55, ("40-Piece", "Figure-of-Eight")),
            T("Soft Toy", 18, ("Huggable", "30cm", "Organic Cotton")),
            T(
                "Remote Control Car",
                40,
                ("Off-Road", "2.4GHz", "Rechargeable"),
                ("Rechargeable Batteries",),
            ),
            T("Rechargeable Batteries", 12, ("AA 4-Pack", "AAA 4-Pack"), consumable=True),
            T("Science Kit", 25, ("STEM", "Crystal-Growing", "Volcano")),
            T("Art Set", 22, ("120-Piece", "Watercolour", "Sketching")),
        ),
        adjectives=("Classic", "Deluxe", "Junior", "Ultimate", "Mini", "Adventure"),
        materials=("FSC Wood", "Recycled Card", "ABS Plastic", "Plush"),
        templates=(
            "{brand} {adj} {feature} {noun}",
            "{brand} {noun}: {game}",
            "{brand} {feature} {noun}",
        ),
        models=("",),
        sentences=(
            "Hours of screen-free fun for the whole family.",
            "Made from {material_l} and tested to European toy standards.",
            "Easy to learn in five minutes, hard to master.",
            "{A_adj} gift for birthdays and holidays.",
            "Recommended for ages {age} and up.",
        ),
        season=(0.75, 0.75, 0.8, 0.85, 0.85, 0.85, 0.9, 0.9, 0.9, 1.0, 1.8, 2.2),
        tags=("toys", "games", "kids", "gift idea"),
    ),
    CategorySpec(
        name="Garden",
        code="GAR",
        colour="#38a169",
        description="Tools, seeds, planters and furniture for gardens and balconies.",
        brands=(
            ("Greenhollow", PREMIUM),
            ("Fieldcraft", MAINSTREAM),
            ("Bloomsbury Garden", MAINSTREAM),
            ("Sprout", BUDGET),
            ("Yardly", BUDGET),
        ),
        types=(
            T("Secateurs", 22, ("Bypass", "Ratchet", "Ergonomic"), ("Gardening Gloves",)),
            T("Gardening Gloves", 10, ("Thorn-Proof", "Breathable"), consumable=True),
            T(
                "Seed Collection",
                8,
                ("Heirloom Tomato", "Wildflower", "Herb"),
                ("Seed Compost",),
                consumable=True,
            ),
            T("Seed Compost", 9, ("40L", "Peat-Free"), consumable=True),
            T("Raised Bed", 85, ("Cedar", "Modular", "1.2m")),
            T("Hose Reel", 45, ("30m", "Wall-Mounted")),
            T("Solar Lights", 25, ("10-Pack", "Warm White", "Path")),
            T("Bistro Set", 140, ("Folding", "3-Piece", "Weatherproof")),
            T("Bird Feeder", 18, ("Squirrel-Proof", "Hanging"), ("Bird Seed",)),
            T("Bird Seed", 11, ("2kg", "No-Mess"), consumable=True),
            T("Lawn Mower", 190, ("Cordless", "37cm", "Self-Propelled")),
        ),
        adjectives=("Heavy-Duty", "Classic", "Compact", "Professional", "Cottage"),
        materials=("Carbon Steel", "FSC Acacia", "Galvanised Steel", "Recycled Plastic"),
        templates=(
            "{brand} {adj} {feature} {noun}",
            "{brand} {material} {noun}",
            "{brand} {feature} {noun}",
        ),
        models=("",),
        sentences=(
            "Built from {material_l} to shrug off the British weather.",
            "{A_adj} choice for allotments and balconies alike.",
            "Comfortable to use through a long afternoon in the borders.",
            "Comes with a two-year guarantee and replaceable parts.",
            "Recommended by the gardeners in our test panel.",
        ),
        season=(0.55, 0.75, 1.35, 1.7, 1.7, 1.5, 1.3, 1.05, 0.85, 0.7, 0.55, 0.6),
        tags=("garden", "outdoors", "growing"),
    ),
    CategorySpec(
        name="Grocery",
        code="GRO",
        colour="#975a16",
        description="Coffee, tea, pantry staples and treats.",
        brands=(
            ("Millbrook", PREMIUM),
            ("Old Quay Roasters", PREMIUM),
            ("Harvest Table", MAINSTREAM),
            ("Pantry & Co", MAINSTREAM),
            ("Good Value", BUDGET),
        ),
        types=(
            T(
                "Coffee Beans",
                9,
                ("1kg", "500g", "Single-Origin", "Espresso Roast"),
                ("Coffee Grinder",),
                consumable=True,
            ),
            T("Loose Leaf Tea", 7, ("Earl Grey", "Darjeeling", "Green"), consumable=True),
            T("Extra Virgin Olive Oil", 9, ("500ml", "1L", "Cold-Pressed"), consumable=True),
            T("Dark Chocolate", 3.5, ("70% Cocoa", "Sea Salt", "Orange"), consumable=True),
            T("Granola", 4.5, ("Honey", "Nut-Free", "Protein"), consumable=True),
            T("Pasta", 2.5, ("Bronze-Cut", "Wholewheat", "Gluten-Free"), consumable=True),
            T("Hot Sauce", 5, ("Chipotle", "Habanero", "Smoky"), consumable=True),
            T("Gift Hamper", 45, ("Luxury", "Afternoon Tea", "Cheese & Wine")),
        ),
        adjectives=("Organic", "Fairtrade", "Artisan", "Small-Batch", "Everyday", "Finest"),
        materials=("",),
        templates=(
            "{brand} {adj} {feature} {noun}",
            "{brand} {feature} {noun}",
        ),
        models=("",),
        sentences=(
            "Sourced directly from growers we have worked with for years.",
            "{feature} flavour that makes an ordinary day a little better.",
            "{A_adj} staple of a well-stocked cupboard.",
            "Packed in recyclable materials and delivered fresh.",
            "Suitable for vegetarians.",
        ),
        price_sigma=0.2,
        season=(1.0, 0.95, 0.95, 0.95, 0.95, 0.95, 0.95, 0.95, 1.0, 1.0, 1.1, 1.4),
        tags=("food", "pantry"),
    ),
    CategorySpec(
        name="Pet Supplies",
        code="PET",
        colour="#805ad5",
        description="Food, toys, beds and grooming for cats and dogs.",
        brands=(
            ("Woof & Whisker", PREMIUM),
            ("Barkley", MAINSTREAM),
            ("Pawsome", MAINSTREAM),
            ("Happy Tails", BUDGET),
        ),
        types=(
            T(
                "Dry Dog Food",
                32,
                ("12kg", "Grain-Free", "Puppy"),
                ("Dog Chew Toy",),
                consumable=True,
            ),
            T("Dog Chew Toy", 9, ("Durable", "Rope", "Treat-Dispensing")),
            T("Dog Bed", 45, ("Orthopaedic", "Washable", "Large")),
            T("Dog Lead", 15, ("Reflective", "Retractable")),
            T("Wet Cat Food", 14, ("12-Pack", "Senior", "Kitten"), ("Cat Toy",), consumable=True),
            T("Cat Toy", 6, ("Feather Wand", "Catnip")),
            T("Cat Litter", 12, ("Clumping", "10L", "Odour-Control"), consumable=True),
            T("Scratching Post", 28, ("Sisal", "Tall")),
            T("Grooming Brush", 12, ("Deshedding", "Slicker")),
        ),
        adjectives=("Premium", "Natural", "Everyday", "Cosy", "Tough"),
        materials=("Sisal", "Natural Rubber", "Recycled Fleece", "Nylon"),
        templates=(
            "{brand} {adj} {feature} {noun}",
            "{brand} {feature} {noun}",
        ),
        models=("",),
        sentences=(
            "Vet-approved and loved by picky eaters.",
            "Made from {material_l} that stands up to enthusiastic play.",
            "{A_adj} favourite in households with more than one pet.",
            "Easy to clean and quick to dry.",
        ),
        tags=("pets", "dogs", "cats"),
    ),
    CategorySpec(
        name="Office",
        code="OFF",
        colour="#4a5568",
        description="Desks, chairs, stationery and the accessories of a tidy workspace.",
        brands=(
            ("Ledger & Quill", PREMIUM),
            ("Deskwell", MAINSTREAM),
            ("Papermill", MAINSTREAM),
            ("Officio", BUDGET),
        ),
        types=(
            T("Ergonomic Office Chair", 220, ("Mesh", "Lumbar Support", "Adjustable")),
            T("Standing Desk", 330, ("Electric", "140cm", "Dual-Motor"), ("Desk Lamp",)),
            T("Desk Lamp", 38, ("LED", "Dimmable", "Swing-Arm")),
            T("Notebook", 12, ("A5", "Dotted", "Hardcover"), ("Fountain Pen",), consumable=True),
            T("Fountain Pen", 35, ("Fine Nib", "Medium Nib", "Brass"), ("Ink Cartridges",)),
            T("Ink Cartridges", 6, ("Blue-Black", "20-Pack"), consumable=True),
            T("Laptop Sleeve", 25, ("14-inch", "Padded", "Felt")),
            T("Wireless Mouse", 28, ("Silent", "Ergonomic", "Rechargeable")),
            T("USB-C Hub", 35, ("7-in-1", "4K HDMI")),
            T("Desk Organiser", 18, ("Bamboo", "Modular")),
        ),
        adjectives=("Executive", "Minimalist", "Classic", "Compact", "Professional"),
        materials=("Bamboo", "Brass", "Recycled Paper", "Steel", "Felt"),
        templates=(
            "{brand} {adj} {feature} {noun}",
            "{brand} {material} {noun}",
            "{brand} {feature} {noun} {model}",
        ),
        models=("", "{L}{d}", "Series {d}"),
        sentences=(
            "Brings order to a busy desk and comfort to long working days.",
            "{material} details give it {a_adj} look.",
            "Designed with office ergonomists.",
            "Assembly takes under ten minutes with the tool included.",
        ),
        season=(1.3, 1.05, 1.0, 0.95, 0.95, 0.9, 0.85, 1.0, 1.35, 1.0, 0.95, 0.85),
        tags=("office", "work", "stationery"),
    ),
    CategorySpec(
        name="Music",
        code="MUS",
        colour="#e53e3e",
        description="Instruments, accessories and records.",
        brands=(
            ("Harlow Instruments", PREMIUM),
            ("Bellweather", PREMIUM),
            ("Sonata", MAINSTREAM),
            ("Riffline", MAINSTREAM),
            ("Tunely", BUDGET),
        ),
        types=(
            T(
                "Acoustic Guitar",
                260,
                ("Solid Spruce", "Dreadnought", "Cutaway"),
                ("Guitar Strings", "Clip-On Tuner", "Guitar Stand"),
            ),
            T(
                "Electric Guitar",
                420,
                ("Humbucker", "Single-Coil", "Offset"),
                ("Guitar Amplifier", "Guitar Strings"),
            ),
            T("Guitar Amplifier", 180, ("20W", "Valve", "Modelling")),
            T("Guitar Strings", 9, ("Light Gauge", "Phosphor Bronze", "Nickel"), consumable=True),
            T("Clip-On Tuner", 14, ("Chromatic", "Rechargeable")),
            T("Guitar Stand", 20, ("Folding", "Wall-Mount")),
            T("Ukulele", 60, ("Concert", "Soprano", "Mahogany"), ("Clip-On Tuner",)),
            T("Digital Piano", 520, ("88-Key", "Weighted", "Bluetooth"), ("Piano Stool",)),
            T("Piano Stool", 70, ("Adjustable", "Padded")),
            T("USB Microphone", 90, ("Cardioid", "Podcast", "Studio")),
            T("Turntable", 230, ("Belt-Drive", "Bluetooth", "Direct-Drive"), ("Vinyl Record",)),
            T(
                "Vinyl Record",
                24,
                ("180g Vinyl", "Double LP", "Coloured Vinyl"),
                titles=("{artist} – {album}",),
            ),
        ),
        adjectives=("Studio", "Vintage", "Pro", "Classic", "Stage"),
        materials=("Rosewood", "Mahogany", "Maple", "Spruce", "Steel"),
        templates=(
            "{brand} {feature} {noun} {model}",
            "{brand} {adj} {material} {noun}",
            "{brand} {model} {feature} {noun}",
        ),
        models=("{L}-{d}{d}", "Model {d}", "{L}{L}{d}00", "Custom {d}"),
        sentences=(
            "Voiced for warmth and clarity in the studio and on stage.",
            "{material} and careful setup make it play well straight out of the box.",
            "{A_adj} instrument that grows with the player.",
            "Checked by our technicians before dispatch.",
            "Comes with a padded gig bag.",
        ),
        price_sigma=0.3,
        season=(1.0, 0.9, 0.9, 0.9, 0.9, 0.9, 0.9, 0.95, 1.0, 1.0, 1.25, 1.5),
        tags=("music", "instruments"),
    ),
    CategorySpec(
        name="Health",
        code="HEA",
        colour="#319795",
        description="Vitamins, personal care and home health devices.",
        brands=(
            ("Clearpath Health", PREMIUM),
            ("Vitalis", MAINSTREAM),
            ("Wellspring", MAINSTREAM),
            ("Simply Well", BUDGET),
        ),
        types=(
            T("Vitamin D Tablets", 7, ("1000IU", "180-Pack"), consumable=True),
            T("Multivitamin", 10, ("Women's", "Men's", "50+"), consumable=True),
            T(
                "Electric Toothbrush",
                55,
                ("Sonic", "Pressure Sensor", "Travel"),
                ("Toothbrush Heads",),
            ),
            T("Toothbrush Heads", 15, ("4-Pack", "Sensitive"), consumable=True),
            T("Digital Thermometer", 14, ("Ear", "Contactless")),
            T("Blood Pressure Monitor", 40, ("Upper Arm", "Bluetooth")),
            T("Massage Gun", 90, ("Quiet", "6-Speed")),
            T("Sleep Mask", 12, ("Silk", "Contoured")),
            T("Bathroom Scale", 30, ("Smart", "Body Composition")),
        ),
        adjectives=("Daily", "Advanced", "Gentle", "Clinical", "Essential"),
        materials=("Silicone", "Silk", "Stainless Steel"),
        templates=(
            "{brand} {adj} {feature} {noun}",
            "{brand} {feature} {noun}",
        ),
        models=("",),
        sentences=(
            "Developed with healthcare professionals.",
            "Simple enough for the whole household to use.",
            "{A_adj} part of a healthy routine.",
            "Always read the label before use.",
        ),
        season=(1.4, 1.1, 1.0, 0.95, 0.9, 0.85, 0.85, 0.85, 1.0, 1.05, 1.05, 0.95),
        tags=("health", "wellbeing"),
    ),
    CategorySpec(
        name="Baby",
        code="BAB",
        colour="#ed64a6",
        description="Nursery essentials, feeding and travel for babies and toddlers.",
        brands=(
            ("Little Acorn", PREMIUM),
            ("Nestling", MAINSTREAM),
            ("Cuddle Co", MAINSTREAM),
            ("Tiny Steps", BUDGET),
        ),
        types=(
            T("Baby Carrier", 75, ("Ergonomic", "4-Position")),
            T("Muslin Squares", 14, ("6-Pack", "Organic")),
            T("Baby Bottles", 20, ("Anti-Colic", "3-Pack"), ("Bottle Steriliser",)),
            T("Bottle Steriliser", 45, ("Steam", "Microwave")),
            T("Sleepsuit Set", 18, ("3-Pack", "Organic Cotton")),
            T("Nappies", 11, ("Size 3", "Size 4", "Eco"), ("Baby Wipes",), consumable=True),
            T("Baby Wipes", 8, ("12-Pack", "Water-Based"), consumable=True),
            T("Play Mat", 45, ("Foldable", "Activity Gym")),
            T("Pushchair", 320, ("Lightweight", "All-Terrain", "Compact-Fold")),
        ),
        adjectives=("Gentle", "Cosy", "Everyday", "Natural", "Travel"),
        materials=("Organic Cotton", "Bamboo", "BPA-Free Plastic"),
        templates=(
            "{brand} {adj} {feature} {noun}",
            "{brand} {feature} {noun}",
        ),
        models=("",),
        sentences=(
            "Designed with midwives and tested by parents.",
            "Soft {material_l} that is kind to delicate skin.",
            "Folds away quickly when space is tight.",
            "{A_adj} choice for new parents.",
        ),
        tags=("baby", "parenting"),
    ),
)

COLOURS = ("Navy", "Charcoal", "Olive", "Camel", "Stone", "Burgundy", "Ecru", "Forest Green")
GAMES = (
    "Island Traders",
    "Castle Siege",
    "Rocket Race",
    "Mystery Manor",
    "Dragon's Hoard",
    "Tidal Kingdoms",
    "Night Train",
    "Harvest Moon",
)
TITLE_ADJECTIVES = (
    "Silent",
    "Glass",
    "Hidden",
    "Last",
    "Winter",
    "Golden",
    "Paper",
    "Broken",
    "Northern",
    "Salt",
    "Distant",
    "Quiet",
    "Burning",
    "Lost",
    "Emerald",
    "Midnight",
)
TITLE_NOUNS = (
    "Harbour",
    "Orchard",
    "Garden",
    "Lighthouse",
    "River",
    "Letter",
    "Map",
    "Island",
    "Summer",
    "Archive",
    "Clockmaker",
    "Tide",
    "Forest",
    "Crown",
    "Station",
    "Signal",
)
PLACES = (
    "Lindow",
    "Marrowby",
    "Kestle Bay",
    "Aldermoor",
    "Saltcombe",
    "Fenwick",
    "Harrowgate",
    "Blackwater",
    "Eastmere",
    "Thornbury",
)
CRIMES = ("Murders", "Affair", "Disappearance", "Conspiracy", "Inheritance", "Verdict")
CUISINES = ("Italian", "Persian", "Japanese", "Mexican", "Greek", "Vegetarian", "Nordic", "Indian")
COUNTRIES = ("Portugal", "Scotland", "Japan", "Iceland", "Italy", "Vietnam", "Peru", "Norway")
ANIMALS = ("Fox", "Owl", "Badger", "Hedgehog", "Otter", "Bear", "Rabbit", "Penguin")
VERBS = ("Couldn't Sleep", "Lost Her Hat", "Wanted to Fly", "Said Sorry", "Found a Star")
ARTISTS = (
    "The Paper Kites of Lindow",
    "Marlowe Vance",
    "Ida Marsh",
    "Saltwater Choir",
    "Northern Lights Orchestra",
    "June Avery",
    "The Quiet Hours",
    "Felix Arden Trio",
    "Harbour Radio",
    "Nadia Okafor",
)
ALBUMS = (
    "Low Tide",
    "Night Drives",
    "Coastlines",
    "Golden Hour",
    "Wires & Wool",
    "Second Spring",
    "Small Fires",
    "Blue Room Sessions",
    "Winter Songs",
    "Lanterns",
)
AUTHOR_FIRST = ("Eleanor", "Tomas", "Priya", "Callum", "Ingrid", "Jonah", "Amara", "Rosalind")
AUTHOR_LAST = ("Whitcombe", "Ashdown", "Mercer", "Okonkwo", "Lindqvist", "Farrow", "Devlin")

CLOSERS = (
    "Free delivery on orders over £40, and free returns within 30 days.",
    "Dispatched within one working day from our UK warehouse.",
    "Backed by our no-quibble 30-day returns promise.",
    "Gift wrapping is available at checkout.",
)

_SLUG_STRIP = re.compile(r"[^a-z0-9]+")


def slugify(text: str) -> str:
    """A URL slug of ASCII letters, digits and hyphens (accents and symbols dropped)."""
    ascii_text = text.lower().replace("&", " and ").encode("ascii", "ignore").decode()
    return _SLUG_STRIP.sub("-", ascii_text).strip("-")


def type_key(noun: str) -> str:
    return slugify(noun)


def _model_code(rng: random.Random, pattern: str) -> str:
    out = []
    for token in re.split(r"(\{[a-z]\})", pattern):
        if token == "{d}":
            out.append(str(rng.randint(1, 9)))
        elif token == "{L}":
            out.append(rng.choice("ABCDEFGHKMNPRSTVXZ"))
        elif token == "{r}":
            out.append(rng.choice(("II", "III", "IV", "V")))
        else:
            out.append(token)
    return "".join(out)


def _fill(template: str, words: dict[str, str]) -> str:
    text = template.format(**words)
    return re.sub(r"\s+", " ", text).replace(" ,", ",").strip(" ,")


def product_name(
    rng: random.Random, spec: CategorySpec, ptype: ProductType, brand: str, feature: str
) -> tuple[str, dict[str, str]]:
    """A product name and the words it was built from (reused by the description)."""
    words = {
        "brand": brand,
        "noun": ptype.noun,
        "feature": feature,
        "adj": rng.choice(spec.adjectives),
        "material": rng.choice(spec.materials),
        "model": _model_code(rng, rng.choice(spec.models)),
        "colour": rng.choice(COLOURS),
        "game": rng.choice(GAMES),
        "t_adj": rng.choice(TITLE_ADJECTIVES),
        "t_noun": rng.choice(TITLE_NOUNS),
        "place": rng.choice(PLACES),
        "crime": rng.choice(CRIMES),
        "cuisine": rng.choice(CUISINES),
        "country": rng.choice(COUNTRIES),
        "animal": rng.choice(ANIMALS),
        "verb": rng.choice(VERBS),
        "artist": rng.choice(ARTISTS),
        "album": rng.choice(ALBUMS),
        "n": str(rng.choice((60, 75, 80, 100, 120))),
        "author": f"{rng.choice(AUTHOR_FIRST)} {rng.choice(AUTHOR_LAST)}",
        "age": str(rng.choice((3, 5, 6, 8, 10, 12))),
    }
    if ptype.titles:
        words["title"] = _fill(rng.choice(ptype.titles), words)
        template = "{title} ({feature})"
    else:
        template = rng.choice(spec.templates)
    return _fill(template, words), words


def _lower(text: str) -> str:
    """Lower-case words that are merely capitalised, keeping acronyms such as "BPA" or "4K"."""
    parts = re.split(r"([ -])", text)
    return "".join(p.lower() if len(p) > 1 and p[1:] == p[1:].lower() else p for p in parts)


def _with_article(text: str) -> str:
    return ("an " if text[:1].lower() in "aeiou" else "a ") + text


OPENERS = (
    "Meet the {brand} {noun_l}: {feature_l}, {adj_l} and made to last.",
    "{brand}'s {feature_l} {noun_l}, designed for everyday use.",
    "From {brand}, {a_adj} take on the {noun_l}.",
)


def product_description(
    rng: random.Random, spec: CategorySpec, ptype: ProductType, words: dict[str, str]
) -> str:
    """Three to five sentences about the product."""
    lowered = {
        **words,
        "adj_l": _lower(words["adj"]),
        "a_adj": _with_article(_lower(words["adj"])),
        "A_adj": _with_article(_lower(words["adj"])).capitalize(),
        "feature_l": _lower(words["feature"]),
        "material_l": _lower(words["material"]),
        "noun_l": _lower(ptype.noun),
    }
    if ptype.titles:
        opener = f"{words['title']}, published by {words['brand']}."
        if spec.code == "BOK":
            opener += f" Written by {words['author']}."
    else:
        opener = rng.choice(OPENERS).format(**lowered)
    middle = rng.sample(spec.sentences, k=min(len(spec.sentences), rng.randint(2, 3)))
    sentences = [opener, *(_fill(s, lowered) for s in middle), rng.choice(CLOSERS)]
    return " ".join(sentences)


def retail_price(value: float) -> float:
    """A price with a believable ending: .99 under £20, .49/.99 under £100, whole pounds above."""
    if value < 20:
        return max(0.99, math.floor(value) + 0.99 - (1 if value < 1.5 else 0))
    if value < 100:
        whole = math.floor(value)
        return whole + (0.49 if value - whole < 0.5 else 0.99)
    return float(round(value / 5) * 5 - 1)


REVIEW_TITLES: dict[int, tuple[str, ...]] = {
    1: ("Disappointed", "Would not buy again", "Not as described", "Returned it"),
    2: ("Not great", "Expected more", "Okay at best", "Some problems"),
    3: ("Does the job", "Fine for the price", "Mixed feelings", "Average {noun}"),
    4: ("Very good", "Happy with this {noun}", "Solid choice", "Good value"),
    5: ("Absolutely love it", "Brilliant {noun}", "Best purchase this year", "Perfect"),
}
REVIEW_BODIES: dict[int, tuple[str, ...]] = {
    1: (
        "The {noun} stopped working within a fortnight.",
        "It looks nothing like the photos.",
        "Customer service took a week to reply.",
        "The quality feels cheap for what I paid.",
    ),
    2: (
        "The {noun} works, but the finish is poor.",
        "Smaller than I expected from the description.",
        "It arrived late and the box was damaged.",
        "I would look elsewhere next time.",
    ),
    3: (
        "It is a perfectly ordinary {noun}.",
        "Nothing special, but nothing wrong with it either.",
        "Delivery was quick.",
        "Worth it if you catch it on sale.",
    ),
    4: (
        "A well-made {noun} that does what it promises.",
        "Delivery was quick and the packaging was plastic-free.",
        "Only a star off because the instructions were vague.",
        "I use it most days.",
    ),
    5: (
        "Exactly what I wanted: this {noun} is superb.",
        "I have already recommended it to friends.",
        "Beautifully made and arrived the next day.",
        "I bought a second one as a gift.",
    ),
}
