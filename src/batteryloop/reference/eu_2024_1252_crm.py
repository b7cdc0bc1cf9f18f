"""Critical raw materials of the Union, and which of a battery's materials they name.

Source: Regulation (EU) 2024/1252 (Critical Raw Materials Act), Annex II, Section 1 — the list of critical raw
materials (https://eur-lex.europa.eu/eli/reg/2024/1252/oj). A battery passport's public part names the critical
raw materials the battery contains (Regulation (EU) 2023/1542, Annex XIII 1; REFERENCE.md §1). The list below is
the Annex's 34 entries, NOT checked against the Official Journal text here (unverified): on 2026-12-05 they
were cross-checked, entry by entry, against three secondary summaries that agree with them — CBS (Statistics
Netherlands), "Critical raw materials", 2024-09 and 2025-10 (34 materials, copper and nickel among them, aluminium
added to bauxite); Fastmarkets, "EC names critical, strategic raw materials under proposed new act", 2023-03-16;
nicola-bernard.de, "Critical Raw Materials Act (CRMA) has entered into force", 2024 (34 critical in Annex II, 17
strategic in Annex I). Check the Official Journal before any declaration. The threshold (0.1 % of the battery's
mass) follows the practice of the passport's content guidance (DIN DKE SPEC 99100), also unverified here.

``BATTERY_MATERIAL_CRM`` maps the materials batteryloop tracks in a pack (the BatPaC elements and graphite, the
cathode's phosphorus) to the entry that names them; ``THRESHOLD_MASS_FRACTION`` is the share of the battery's
mass above which a material is declared.
"""

from __future__ import annotations

from ._core import Citation

CITATION = Citation(
    title="Regulation (EU) 2024/1252 establishing a framework for ensuring a secure and sustainable supply of "
          "critical raw materials (Critical Raw Materials Act), Annex II Section 1",
    publisher="European Parliament and Council",
    date="2024-04-11",
    url="https://eur-lex.europa.eu/eli/reg/2024/1252/oj",
    verified=False,
    note="list cross-checked against secondary summaries (CBS 2024/2025, Fastmarkets 2023-03-16), not the Official "
         "Journal; threshold 0.1 % w/w unverified",
)

CRITICAL_RAW_MATERIALS: tuple[str, ...] = (
    "aluminium (bauxite, alumina, aluminium)", "antimony", "arsenic", "baryte", "beryllium", "bismuth",
    "boron (borate)", "cobalt", "coking coal", "copper", "feldspar", "fluorspar", "gallium", "germanium", "hafnium",
    "helium", "heavy rare earth elements", "light rare earth elements", "lithium", "magnesium", "manganese",
    "natural graphite", "nickel (battery grade)", "niobium", "phosphate rock", "phosphorus", "platinum group metals",
    "scandium", "silicon metal", "strontium", "tantalum", "titanium metal", "tungsten", "vanadium",
)

#: the passport's name for each tracked battery material that is a critical raw material (the entry it falls under)
BATTERY_MATERIAL_CRM: dict[str, tuple[str, str]] = {
    "Li": ("lithium", "lithium"),
    "Ni": ("nickel", "nickel (battery grade)"),
    "Co": ("cobalt", "cobalt"),
    "Mn": ("manganese", "manganese"),
    "graphite": ("natural graphite", "natural graphite"),
    "Cu": ("copper", "copper"),
    "Al": ("aluminium", "aluminium (bauxite, alumina, aluminium)"),
    "P": ("phosphate rock", "phosphate rock"),
}

THRESHOLD_MASS_FRACTION = 0.001
