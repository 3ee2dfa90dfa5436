"""The words copy is made of that are not the brief's own: a travel and advertising vocabulary of
visual elements and the colour names, each with its translation for the template languages.

Keys are English because the library's models (CLIP, MiniLM) are English: a variant's
``references`` keep the English key so grounding can score it, while the copy itself uses the
translation. ImageNet class names have no translation here; a template variant in another
language that has to name one says so in a reviewer flag.
"""

from __future__ import annotations

LANGUAGES = ("en", "de", "fr", "es")

# English key -> (de, fr, es). Scenes and things a destination or product photo shows that
# ImageNet's 1000 classes lack (ImageNet has "seashore", "alp", "lakeside", "palace"...).
TRAVEL_TERMS: dict[str, tuple[str, str, str]] = {
    "beach": ("Strand", "plage", "playa"),
    "sea": ("Meer", "mer", "mar"),
    "harbour": ("Hafen", "port", "puerto"),
    "island": ("Insel", "île", "isla"),
    "mountains": ("Berge", "montagnes", "montañas"),
    "lake": ("See", "lac", "lago"),
    "river": ("Fluss", "rivière", "río"),
    "waterfall": ("Wasserfall", "cascade", "cascada"),
    "forest": ("Wald", "forêt", "bosque"),
    "desert": ("Wüste", "désert", "desierto"),
    "snow": ("Schnee", "neige", "nieve"),
    "countryside": ("Landschaft", "campagne", "campo"),
    "vineyard": ("Weinberg", "vignoble", "viñedo"),
    "garden": ("Garten", "jardin", "jardín"),
    "park": ("Park", "parc", "parque"),
    "flowers": ("Blumen", "fleurs", "flores"),
    "city": ("Stadt", "ville", "ciudad"),
    "skyline": ("Skyline", "horizon urbain", "horizonte urbano"),
    "old town": ("Altstadt", "vieille ville", "casco antiguo"),
    "street": ("Straße", "rue", "calle"),
    "market": ("Markt", "marché", "mercado"),
    "village": ("Dorf", "village", "pueblo"),
    "bridge": ("Brücke", "pont", "puente"),
    "castle": ("Burg", "château", "castillo"),
    "palace": ("Palast", "palais", "palacio"),
    "temple": ("Tempel", "temple", "templo"),
    "church": ("Kirche", "église", "iglesia"),
    "cathedral": ("Kathedrale", "cathédrale", "catedral"),
    "museum": ("Museum", "musée", "museo"),
    "statue": ("Statue", "statue", "estatua"),
    "fountain": ("Brunnen", "fontaine", "fuente"),
    "lighthouse": ("Leuchtturm", "phare", "faro"),
    "hotel": ("Hotel", "hôtel", "hotel"),
    "swimming pool": ("Pool", "piscine", "piscina"),
    "restaurant": ("Restaurant", "restaurant", "restaurante"),
    "café": ("Café", "café", "cafetería"),
    "coffee": ("Kaffee", "café", "café"),
    "wine": ("Wein", "vin", "vino"),
    "food": ("Essen", "cuisine", "comida"),
    "boat": ("Boot", "bateau", "barco"),
    "train": ("Zug", "train", "tren"),
    "airplane": ("Flugzeug", "avion", "avión"),
    "bicycle": ("Fahrrad", "vélo", "bicicleta"),
    "car": ("Auto", "voiture", "coche"),
    "rocket": ("Rakete", "fusée", "cohete"),
    "family": ("Familie", "famille", "familia"),
    "couple": ("Paar", "couple", "pareja"),
    "friends": ("Freunde", "amis", "amigos"),
    "person": ("Mensch", "personne", "persona"),
    "portrait": ("Porträt", "portrait", "retrato"),
    "dog": ("Hund", "chien", "perro"),
    "cat": ("Katze", "chat", "gato"),
    "horse": ("Pferd", "cheval", "caballo"),
    "bird": ("Vogel", "oiseau", "pájaro"),
    "sunset": ("Sonnenuntergang", "coucher de soleil", "atardecer"),
    "night sky": ("Nachthimmel", "ciel nocturne", "cielo nocturno"),
    "stars": ("Sterne", "étoiles", "estrellas"),
    "clock": ("Uhr", "horloge", "reloj"),
    "coins": ("Münzen", "pièces", "monedas"),
    "brick wall": ("Backsteinmauer", "mur de briques", "muro de ladrillo"),
    "grass": ("Gras", "herbe", "hierba"),
    "stones": ("Steine", "pierres", "piedras"),
    "camera": ("Kamera", "caméra", "cámara"),
}

# The named palette dominant colours are matched against (sRGB), and the names' translations.
PALETTE: dict[str, tuple[tuple[int, int, int], tuple[str, str, str]]] = {
    "black": ((20, 20, 20), ("schwarz", "noir", "negro")),
    "white": ((245, 245, 245), ("weiß", "blanc", "blanco")),
    "grey": ((128, 128, 128), ("grau", "gris", "gris")),
    "red": ((200, 30, 35), ("rot", "rouge", "rojo")),
    "orange": ((240, 130, 30), ("orange", "orange", "naranja")),
    "yellow": ((245, 215, 50), ("gelb", "jaune", "amarillo")),
    "green": ((50, 140, 60), ("grün", "vert", "verde")),
    "turquoise": ((40, 180, 170), ("türkis", "turquoise", "turquesa")),
    "blue": ((40, 90, 200), ("blau", "bleu", "azul")),
    "navy": ((20, 30, 80), ("marineblau", "bleu marine", "azul marino")),
    "purple": ((120, 50, 150), ("lila", "violet", "morado")),
    "pink": ((235, 130, 170), ("rosa", "rose", "rosa")),
    "brown": ((110, 70, 40), ("braun", "brun", "marrón")),
    "beige": ((215, 195, 160), ("beige", "beige", "beis")),
}


def translate(term: str, language: str) -> str | None:
    """``term`` (an English key of either table) in ``language``; None when there is no entry."""
    if language == "en":
        return term
    index = LANGUAGES.index(language) - 1 if language in LANGUAGES else -1
    if index < 0:
        return None
    if term in TRAVEL_TERMS:
        return TRAVEL_TERMS[term][index]
    if term in PALETTE:
        return PALETTE[term][1][index]
    return None
