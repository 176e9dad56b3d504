"""The bundled demo corpus: small raw releases written by us, in the real release formats.

    python -m demo.corpus --out DIR [--seed 42]

`make demo` runs the whole pipeline on a laptop CPU, so it needs data that is small, free to
ship and read by the same builders as the real releases (`build --raw-dir DIR` for ten of the
evaluation datasets, `build-instruct --raw-dir DIR` for nine MNLU-Instruct sources). Every file
is generated here from hand-written term lists and sentence frames, combined by a generator
seeded with `--seed`: the same seed gives byte-identical files.

Held out: every term list that both sides need is split in two (`halves`), the evaluation
datasets drawing from one half and the instruction sources from the other, and the two sides
use different sentence frames; so a gain after fine-tuning shows transfer to unseen datasets,
not memorised entities. Labels are correct by construction: a label is chosen first and a frame
that states it second, and every offset, tag and identifier is computed where a value lands.
"""

import argparse
import csv
import io
import json
import random
import re
import sys
from pathlib import Path
from xml.sax.saxutils import quoteattr

from mnlu.cli import run_main
from mnlu.fileio import atomic_directory


def terms(text):
    """A term list written one `;`-separated string: compact to read and to edit."""
    return [t.strip() for t in text.split(";") if t.strip()]


def halves(items):
    """(evaluation half, instruction half): even and odd positions, disjoint by construction."""
    return items[0::2], items[1::2]


# ---------------------------------------------------------------------------------------------
# term lists (split in two where both sides use them)

DISEASES = halves(
    terms("""breast cancer; type 2 diabetes; rheumatoid arthritis; Parkinson disease; asthma;
    chronic kidney disease; hepatocellular carcinoma; multiple sclerosis; Crohn disease; atrial fibrillation;
    osteoporosis; schizophrenia; psoriasis; colorectal cancer; hypertension; Alzheimer disease; cystic fibrosis;
    lupus nephritis; epilepsy; heart failure; ulcerative colitis; glioblastoma; sickle cell anemia; migraine;
    chronic pancreatitis; obesity; pulmonary tuberculosis; ovarian cancer; hypothyroidism; melanoma;
    acute myeloid leukemia; diabetic neuropathy; macular degeneration; dilated cardiomyopathy; gout;
    endometriosis; prostate cancer; myasthenia gravis; hemophilia A; bronchiectasis""")
)
ADVERSE_EFFECTS = halves(
    terms("""hepatotoxicity; rash; nephrotoxicity; nausea; hypotension; angioedema; seizures;
    bradycardia; thrombocytopenia; hyperkalemia; QT prolongation; diarrhea; agranulocytosis; dizziness;
    lactic acidosis; hypoglycemia; ototoxicity; myopathy; hallucinations; dry cough; tremor; delirium;
    neutropenia; urticaria; constipation; hyponatremia; headache; insomnia; serotonin syndrome; ankle edema""")
)
CHEMICALS = halves(
    terms("""metformin; cisplatin; warfarin; tamoxifen; lisinopril; doxorubicin; atorvastatin;
    haloperidol; amiodarone; gentamicin; methotrexate; lithium carbonate; carbamazepine; clozapine; vancomycin;
    heparin; furosemide; digoxin; propranolol; paclitaxel; levodopa; cyclosporine; prednisone; ibuprofen;
    omeprazole; fluoxetine; valproic acid; rifampin; insulin glargine; amoxicillin; clopidogrel; sertraline;
    ketoconazole; allopurinol; sildenafil; morphine; gabapentin; spironolactone; theophylline; acetaminophen""")
)
GENES = halves(
    terms("""BRCA1; TP53; EGFR; KRAS; APOE; CFTR; TNF; IL6; VEGFA; PTEN; MTHFR; HLA-B; CYP2C9; VKORC1;
    angiotensin converting enzyme; LRRK2; PPARG; FTO; SOD1; JAK2; ABCB1; CYP3A4; estrogen receptor alpha; MYC;
    BCL2; STAT3; NOD2; HNF1A; serotonin transporter; COMT; PCSK9; LDL receptor; interleukin 10; TLR4; AKT1;
    matrix metalloproteinase 9; CDKN2A; HMGCR; tyrosine hydroxylase; GSTM1""")
)
TISSUES = halves(
    terms("""liver; skeletal muscle; kidney; hippocampus; pancreatic islets; lung; adipose tissue;
    retina; colon; heart; bone marrow; skin""")
)

# used by the instruction sources only (no evaluation dataset asks for these types)
SPECIES = terms("""human; mouse; rat; zebrafish; Escherichia coli; Saccharomyces cerevisiae; Drosophila melanogaster;
    Caenorhabditis elegans; Arabidopsis thaliana; rhesus macaque; Staphylococcus aureus; Mycobacterium bovis;
    Plasmodium falciparum; HIV-1; hepatitis B virus; influenza A virus; Candida albicans; Pseudomonas aeruginosa;
    dog; pig; chicken; cattle; Xenopus laevis; Helicobacter pylori; Streptococcus pneumoniae; Bacillus subtilis;
    Listeria monocytogenes; sheep; rabbit; Toxoplasma gondii""")
ORGANISMS = terms("mouse; rat; zebrafish; pig; dog; rhesus macaque")  # BioRED's hosts, a part of SPECIES
CELL_LINES = terms("HeLa; HEK293; MCF-7; A549; HepG2; Jurkat; SH-SY5Y; Caco-2; U87; PC-3")
AMINO_ACIDS, BASES = "ACDEFGHIKLMNPQRSTVWY", "ACGT"
STRENGTHS = terms("500 mg; 10 mg; 1 g; 40 units; 25 mcg; 5 mg; 250 mg; 20 mg")
ROUTES = terms("PO; IV; SC; IM; by mouth; topically")
FREQUENCIES = terms("daily; BID; q8h; twice daily; at bedtime; every 6 hours; TID")
FORMS = terms("tablet; capsule; patch; oral solution")
DOSAGES = terms("1 tab; 2 puffs; one capsule; 2 tablets")
DURATIONS = terms("3 days; two weeks; 10 days; one month")
FIRST_NAMES = terms("Zebediah; Maria; Oscar; Priya; Lena; Tomas; Grace; Ibrahim; Yuki; Helen; Darius; Ines")
LAST_NAMES = terms("Quist; Alvarez; Whitcombe; Okafor; Lindqvist; Moreau; Tanaka; Brennan; Novak; Haddad")
PROFESSIONS = terms("teacher; carpenter; nurse; accountant; bus driver; farmer; chef; engineer")
CITIES = terms("Boston; Tucson; Duluth; Albany; Fresno; Savannah; Spokane; Dayton")
HOSPITALS = terms("Mercy General; Riverside Medical Center; St. Anne Hospital; Lakeview Clinic")
COMPLAINTS = terms("chest pain; shortness of breath; low back pain; fever and chills; abdominal pain")

# ---------------------------------------------------------------------------------------------
# sentence frames: {slot} is filled from the list of its kind (the slot name without digits)

NCBI_FRAMES = [
    "Germline mutations were identified in {n} families with hereditary {disease} .",
    "The prevalence of {disease} was higher among carriers than among non-carriers .",
    "Patients with {disease} and {disease2} were excluded from the analysis .",
    "{disease} is an inherited disorder with variable penetrance .",
    "We describe a kindred in which {disease} segregates as an autosomal dominant trait .",
    "Early onset of {disease} predicted a poor outcome .",
    "The risk of {disease} was not increased in relatives of probands with {disease2} .",
    "Linkage analysis mapped the locus for {disease} to the short arm of chromosome 11 .",
    "These findings suggest that {disease} and {disease2} share a common pathway .",
    "No case of {disease} was observed during follow-up .",
    "Screening for {disease} is recommended in first degree relatives .",
    "The clinical course of the disorder was mild in all affected members .",
]
CDR_FRAMES = [
    "{chemical} induced {adverse} in {n} of the treated patients .",
    "Severe {adverse} developed after the second dose of {chemical} .",
    "The incidence of {adverse} was lower with {chemical} than with {chemical2} .",
    "A case of {adverse} associated with {chemical} therapy is reported .",
    "{chemical} should be used with caution in patients with {disease} .",
    "Withdrawal of {chemical} led to resolution of the {adverse} within days .",
    "{chemical} is widely prescribed for {disease} .",
    "Rats given {chemical} developed {adverse} and weight loss .",
    "The combination of {chemical} and {chemical2} did not increase the rate of {adverse} .",
    "Plasma levels were measured before and after the infusion .",
    "{adverse} is a rare but serious complication of {chemical} .",
    "Long-term use of {chemical} was associated with {disease} in this cohort .",
]
BC2GM_FRAMES = [
    "Expression of {gene} was reduced in the mutant cells .",
    "{gene} interacts with {gene2} in a yeast two-hybrid assay .",
    "The promoter of {gene} contains a consensus binding site for {gene2} .",
    "Phosphorylation of {gene} increased after stimulation .",
    "We cloned a cDNA encoding {gene} from a placental library .",
    "Knockdown of {gene} abolished the induction of {gene2} .",
    "The activity of {gene} was measured in cell lysates .",
    "A missense change in {gene} was detected in two probands .",
    "Levels of {gene} mRNA were unchanged in all samples .",
    "The protein was purified to homogeneity by affinity chromatography .",
    "Antibodies against {gene} stained the nuclear fraction .",
    "Overexpression of {gene} rescued the phenotype caused by loss of {gene2} .",
]
# gene-disease sentences with BLURB's placeholders: positive and negative frames, halved
GENE_DISEASE_FRAMES = {
    "1": halves(
        [
            "Polymorphisms in @GENE$ were associated with an increased risk of @DISEASE$.",
            "The @GENE$ variant conferred susceptibility to @DISEASE$ in a case-control study.",
            "Carriers of the @GENE$ risk allele developed @DISEASE$ at a younger age.",
            "Mutations in @GENE$ cause a familial form of @DISEASE$.",
            "Reduced expression of @GENE$ was linked to the severity of @DISEASE$.",
            "The @GENE$ genotype was a significant predictor of @DISEASE$.",
            "@GENE$ haplotypes were overrepresented among patients with @DISEASE$.",
            "Loss of @GENE$ function contributes to the pathogenesis of @DISEASE$.",
            "A promoter polymorphism of @GENE$ was associated with @DISEASE$ in two cohorts.",
            "Our data implicate @GENE$ as a susceptibility gene for @DISEASE$.",
            "Homozygosity for the @GENE$ deletion increased the odds of @DISEASE$.",
            "@GENE$ variants modified the age at onset of @DISEASE$.",
        ]
    ),
    "0": halves(
        [
            "No association was found between @GENE$ polymorphisms and @DISEASE$.",
            "The @GENE$ genotype distribution did not differ between @DISEASE$ cases and controls.",
            "@GENE$ was measured in patients with @DISEASE$ but showed no difference.",
            "We found no evidence that @GENE$ variants influence the risk of @DISEASE$.",
            "Allele frequencies of @GENE$ were similar in subjects with and without @DISEASE$.",
            "@GENE$ did not modify the risk of @DISEASE$ after adjustment for age.",
            "The study was underpowered to test @GENE$ in @DISEASE$.",
            "Neither @GENE$ nor its haplotypes were related to @DISEASE$ progression.",
            "Serum @GENE$ levels were not correlated with @DISEASE$ activity.",
            "@GENE$ was excluded as a candidate gene for @DISEASE$.",
            "In contrast to earlier reports, @GENE$ was not linked to @DISEASE$.",
            "The @GENE$ polymorphism showed no effect on @DISEASE$ outcome.",
        ]
    ),
}
# clauses that end a relation sentence (the frames above and below end where one can follow)
STUDY_CONTEXTS = halves(
    [
        "in a cohort of {n} patients",
        "in {n} families",
        "among {n} cases and matched controls",
        "in a meta-analysis of {n} studies",
        "in {n} unrelated probands",
        "in a sample of {n} adults",
        "in a Danish registry",
        "in two independent samples",
    ]
)
CHEMPROT_CONTEXTS = [
    "in {tissue} cells",
    "at {n} micromolar",
    "in {tissue} homogenates",
    "in vitro",
    "in cultured cells",
]
DDI_CONTEXTS = ["in healthy volunteers", "in patients with {disease}", "at doses above {n} mg", "in the elderly"]
CHEMPROT_FRAMES = {
    "CPR:3": [
        "@CHEMICAL$ increased the expression of @GENE$.",
        "Treatment with @CHEMICAL$ activated @GENE$ in a dose-dependent manner.",
    ],
    "CPR:4": [
        "@CHEMICAL$ inhibited @GENE$ with an IC50 in the nanomolar range.",
        "@GENE$ activity was suppressed by @CHEMICAL$.",
    ],
    "CPR:5": [
        "@CHEMICAL$ acts as a selective agonist of @GENE$.",
        "@CHEMICAL$ behaved as a full agonist at @GENE$ in binding assays.",
    ],
    "CPR:6": [
        "@CHEMICAL$ is a competitive antagonist of @GENE$.",
        "The effect was blocked by @CHEMICAL$, an antagonist of @GENE$.",
    ],
    "CPR:9": [
        "@CHEMICAL$ is metabolized by @GENE$.",
        "@GENE$ catalyzes the formation of @CHEMICAL$ from its precursor.",
    ],
    "false": [
        "@CHEMICAL$ and @GENE$ were both measured.",
        "Levels of @GENE$ were recorded before @CHEMICAL$ was given.",
        "@CHEMICAL$ was dissolved in saline, and @GENE$ antibodies were purchased.",
    ],
}
DDI_FRAMES = {
    "DDI-mechanism": [
        "@DRUG$ increases the plasma concentration of @DRUG$.",
        "@DRUG$ may reduce the absorption of @DRUG$.",
    ],
    "DDI-effect": [
        "Concomitant use of @DRUG$ and @DRUG$ may enhance sedation.",
        "@DRUG$ potentiates the anticoagulant effect of @DRUG$.",
    ],
    "DDI-advise": [
        "@DRUG$ should not be given together with @DRUG$.",
        "Caution is advised when @DRUG$ is combined with @DRUG$.",
    ],
    "DDI-int": ["@DRUG$ interacts with @DRUG$.", "An interaction between @DRUG$ and @DRUG$ has been reported."],
    "DDI-false": [
        "@DRUG$ and @DRUG$ were given on different days.",
        "Patients received @DRUG$ or @DRUG$ as first-line therapy.",
    ],
}
HOC_CUES = {  # hallmark index (data_builders.eval.hoc.HALLMARKS, alphabetical) -> sentences that signal it
    0: [
        "Knockdown of {gene} reduced the invasion and migration of tumour cells .",
        "{gene} expression correlated with lymph node metastasis .",
    ],
    1: ["Tumour cells expressing {gene} escaped killing by cytotoxic T cells ."],
    2: ["{chemical} shifted tumour metabolism towards aerobic glycolysis ."],
    3: ["{gene} maintained telomere length and allowed unlimited replication ."],
    4: ["Loss of {gene} released cells from contact inhibition ."],
    5: ["{chemical} caused DNA double strand breaks and chromosomal aberrations ."],
    6: ["{gene} promoted tumour angiogenesis and microvessel density ."],
    7: [
        "{chemical} failed to induce apoptosis in cells overexpressing {gene} .",
        "{gene} protected tumour cells from programmed cell death .",
    ],
    8: ["{gene} stimulated proliferation through sustained kinase signalling ."],
    9: ["Tumour-associated inflammation was driven by {gene} secretion ."],
}
HOC_NEUTRAL = [
    "Tumour samples were collected from {n} patients .",
    "Cells were cultured for {n} days .",
    "Statistical analysis used a two-sided test .",
    "{chemical} was given at two doses .",
]
BIOASQ_FRAMES = [  # (question, context when the answer is yes, context when it is no)
    (
        "Is {gene} expressed in the {tissue}?",
        "{gene} is abundantly expressed in the {tissue}.",
        "{gene} expression is absent from the {tissue}; it is restricted to the {tissue2}.",
    ),
    (
        "Is {chemical} used for the treatment of {disease}?",
        "{chemical} is a first-line treatment for {disease}.",
        "{chemical} has no role in the treatment of {disease}.",
    ),
    (
        "Can {chemical} cause {adverse}?",
        "{adverse} is a well-documented adverse effect of {chemical}.",
        "{adverse} has not been reported with {chemical} in any trial.",
    ),
    (
        "Are mutations in {gene} associated with {disease}?",
        "Mutations in {gene} were found in most {disease} families.",
        "Sequencing of {gene} revealed no mutations in {disease} patients.",
    ),
    (
        "Is {disease} inherited in an autosomal dominant manner?",
        "{disease} follows autosomal dominant inheritance.",
        "{disease} is not inherited in a dominant manner; most cases are sporadic.",
    ),
    (
        "Does {chemical} inhibit {gene}?",
        "{chemical} is a potent inhibitor of {gene}.",
        "{chemical} does not inhibit {gene}, even at high concentrations.",
    ),
]
BIOSSES_CLAIMS = [  # each claim in two wordings: score 4 pairs them, lower scores change what they share
    ("{gene} mutations drive {disease}.", "{disease} is driven by mutant {gene}."),
    ("{chemical} lowers {gene} activity in {disease}.", "In {disease}, {gene} activity is reduced by {chemical}."),
    ("Loss of {gene} accelerates {disease} progression.", "{disease} progresses faster when {gene} is lost."),
    ("{chemical} improves survival in {disease}.", "Survival in {disease} is prolonged by {chemical}."),
    ("{gene} is overexpressed in {disease}.", "{disease} tissue shows high {gene} levels."),
]

# instruction sources: BioRED documents (title + one or two sentences); relations name slots
BIORED_TITLES = [
    (
        "{variant} in {gene} causes early-onset {disease}",
        "Association gene disease; Positive_Correlation variant disease",
    ),
    ("{chemical} attenuates {disease} in a {organism} model", "Negative_Correlation chemical disease"),
    ("{gene} deficiency and {disease} risk", "Association gene disease"),
    ("{chemical} binds {gene} and blocks its signalling", "Bind chemical gene"),
    ("Interaction of {chemical} with {chemical2} in {disease}", "Drug_Interaction chemical chemical2"),
]
BIORED_SENTENCES = [
    (
        "We sequenced {gene} in {n} patients with {disease} and found {variant}.",
        "Association gene disease; Positive_Correlation variant disease",
    ),
    ("{chemical} reduced {disease} severity in {cellline} xenografts.", "Negative_Correlation chemical disease"),
    ("Exposure to {chemical} increased the incidence of {disease}.", "Positive_Correlation chemical disease"),
    ("{chemical} upregulated {gene} in {cellline} cells.", "Positive_Correlation chemical gene"),
    ("{gene} bound {gene2} directly in pull-down assays.", "Bind gene gene2"),
    (
        "Co-administration of {chemical} and {chemical2} was more effective than either alone.",
        "Cotreatment chemical chemical2",
    ),
    ("{chemical} was converted to {chemical2} in {organism} liver.", "Conversion chemical chemical2"),
    ("{chemical} was compared with {chemical2} in patients with {disease}.", "Comparison chemical chemical2"),
    ("Serum {gene} was measured in {n} healthy {organism} without further findings.", ""),
    ("{gene} knockout in the {organism} protected against {disease}.", "Positive_Correlation gene disease"),
]
LINNAEUS_FRAMES = [
    "Samples of {species} were collected from three sites .",
    "{species} and {species2} share this gene family .",
    "Infection of {species} cells was confirmed by PCR .",
    "The genome of {species} encodes two paralogs .",
    "Strains were grown overnight at 37 degrees .",
    "Homologs were found in {species} but not in {species2} .",
    "We compared the immune response of {species} with that of {species2} .",
    "Sera from infected {species} were tested in duplicate .",
    "The primers are listed in Table 2 .",
    "{species} was used as the reference organism .",
]
TRIALSTOP_REASONS = {  # TrialStop class -> stop reasons (as written in trial registries)
    "Insufficient_Enrollment": ["Slow accrual", "Too few participants enrolled", "Recruitment was lower than expected"],
    "Business_Administrative": [
        "Sponsor decision",
        "Funding withdrawn by the sponsor",
        "Company acquired; program ended",
    ],
    "Negative": ["Lack of efficacy at interim review", "{chemical} showed no benefit over placebo"],
    "Safety_Sideeffects": ["Unacceptable toxicity", "Cases of {adverse} in the {chemical} arm"],
    "Logistics_Resources": ["Study drug supply interrupted", "Site closed due to staffing problems"],
    "Study_Staff_Moved": ["Principal investigator left the institution", "PI relocated to another hospital"],
    "Covid19": ["Paused because of the COVID-19 pandemic", "Enrollment halted due to COVID-19 restrictions"],
    "Endpoint_Met": ["Primary endpoint reached early", "Efficacy shown at the planned interim analysis"],
    "Regulatory": ["Not approved by the ethics committee", "IND placed on clinical hold"],
    "Another_Study": ["Replaced by a larger phase 3 trial", "Superseded by a new protocol"],
}
STS_SUBJECTS = [
    ("A man", "A guy"),
    ("A woman", "A lady"),
    ("A young girl", "A little girl"),
    ("A boy", "A kid"),
    ("An old man", "An elderly man"),
    ("A teenager", "A teen"),
    ("A woman in a red coat", "A woman wearing red"),
]
STS_ACTIONS = [
    ("is riding a bicycle", "is cycling"),
    ("is playing a guitar", "is strumming a guitar"),
    ("is reading a book", "is reading a novel"),
    ("is walking a dog", "is taking a dog for a walk"),
    ("is flying a kite", "is flying a colourful kite"),
    ("is eating an apple", "is biting into an apple"),
    ("is painting a fence", "is painting a wooden fence"),
    ("is running", "is jogging"),
]
STS_PLACES = ["in the park", "on the beach", "in a backyard", "at the lake", "on a quiet street", "in the garden"]
SNLI_CONTRADICTIONS = ["is sleeping in bed", "is sitting on a sofa watching television", "is lying in a hospital bed"]
SNLI_ADDITIONS = ["for the first time", "to win a bet", "before breakfast", "with a friend", "while on vacation"]
ADE_LINES = [  # attribute slots belong to {drug}; those ending in 2 to {drug2}
    "Started {drug} {strength} {route} {frequency} for {reason}.",
    "Continue {drug} {dosage} {form} {frequency}.",
    "{drug} was stopped after {duration} because of {ade}.",
    "Developed {ade} on {drug}; switched to {drug2} {strength2} {route2}.",
    "Home meds include {drug} {strength} {frequency} and {drug2} {dosage2}.",
    "Given {drug} {strength} {route} x {duration} for {reason}.",
]
ADE_TYPES = {
    "drug": "Drug",
    "strength": "Strength",
    "route": "Route",
    "frequency": "Frequency",
    "reason": "Reason",
    "ade": "ADE",
    "form": "Form",
    "dosage": "Dosage",
    "duration": "Duration",
}
DEID_LINES = [  # after a first `Record date:` line; DEID_TAGS gives the tag of each slot
    "{name} is a {age} year old {profession} from {city}.",
    "Seen by Dr. {doctor} at {hospital} on {date2}.",
    "Chief complaint: {complaint}.",
    "MRN {mrn}. Contact number {phone}.",
    "Follow up with Dr. {doctor} in {city} on {date2}.",
]
MTSAMPLES_NOTES = {  # specialty -> transcriptions (drugs from the instruction half of CHEMICALS)
    "Cardiovascular / Pulmonary": [
        "HISTORY: Exertional chest pain for {n} weeks.\nPLAN: Stress echocardiogram; continue digoxin.",
        "Dyspnea on exertion. Echocardiogram shows an ejection fraction of {n} percent.",
    ],
    "Neurology": [
        "HISTORY: Episodes of numbness in the left arm for {n} days.\nEXAM: Reflexes symmetric. PLAN: MRI brain.",
        "Follow-up of migraine, {n} attacks a month. Gait steady.",
    ],
    "Orthopedic": [
        "HISTORY: Right knee pain after a fall {n} days ago.\nPLAN: X-ray of the knee, ice and ibuprofen.",
        "Status post hip replacement {n} weeks ago, wound healing well.",
    ],
    "Gastroenterology": [
        "INDICATION: Screening colonoscopy.\nFINDINGS: A polyp of {n} mm was removed.",
        "Epigastric pain after meals for {n} weeks. Schedule endoscopy.",
    ],
    "Dermatology": [
        "Itchy scaly plaques on both elbows for {n} months. Topical steroid prescribed.",
        "Changing mole of {n} mm on the back. Excisional biopsy performed.",
    ],
    "Urology": [
        "HISTORY: Left flank pain and hematuria.\nCT shows a {n} mm renal stone.",
        "Elevated PSA of {n} ng/mL. Prostate biopsy planned.",
    ],
    "Ophthalmology": [
        "Blurred vision in the right eye for {n} months. Cataract noted.",
        "Intraocular pressure of {n} mmHg; start drops and recheck in two weeks.",
    ],
    "Psychiatry / Psychology": [
        "Low mood and poor sleep for {n} months. Started sertraline.",
        "Anxiety with {n} panic attacks this month. Referred for cognitive behavioural therapy.",
    ],
}

# ---------------------------------------------------------------------------------------------
# filling frames: every span's offsets come from the text as it is built

SLOT = re.compile(r"\{(\w+)\}")


def kind_of(slot):
    """The term list a slot draws from: `disease2` is a second disease."""
    return slot.rstrip("0123456789")


def sentence_case(text):
    """Capitalise a first word in lower-case letters (`warfarin` -> `Warfarin`, never `p.R123W`);
    one character changes case, so every offset stays valid."""
    first = text.split(" ", 1)[0]
    return text[:1].upper() + text[1:] if first.isalpha() and first.islower() else text


def fill(frame, values):
    """(text, spans): `frame` with each {slot} replaced by values[slot]; spans are (slot, start, end)."""
    text, spans = "", []
    for k, part in enumerate(SLOT.split(frame)):
        if k % 2:  # a slot name
            spans.append((part, len(text), len(text) + len(values[part])))
            part = values[part]
        text += part
    return sentence_case(text), spans


def draw(rng, frame, pools):
    """Values for each slot of `frame` from pools[kind]; slots of one kind get distinct values."""
    values = {}
    for slot in dict.fromkeys(SLOT.findall(frame)):
        pool, taken = pools[kind_of(slot)], {v for s, v in values.items() if kind_of(s) == kind_of(slot)}
        values[slot] = pool(rng) if callable(pool) else rng.choice([v for v in pool if v not in taken])
    return values


def filled(frames, pools):
    """A maker of (frame, values) for `distinct`: a random frame and values for its slots."""

    def one(rng):
        frame = rng.choice(frames)
        return frame, draw(rng, frame, pools)

    return one


def conll_tokens(frame, values, tagged):
    """(token, tag) pairs of a filled frame: slots of a kind in `tagged` ({kind: type}) get
    B-type/I-type (untyped B/I for type ""), the rest O; a term's words are its tokens."""
    pairs = []
    for k, part in enumerate(SLOT.split(frame)):
        if k % 2:
            kind = kind_of(part)
            suffix = f"-{tagged[kind]}" if tagged.get(kind) else ""
            pairs += [
                (w, "O" if kind not in tagged else ("B" if i == 0 else "I") + suffix)
                for i, w in enumerate(values[part].split())
            ]
        else:
            pairs += [(w, "O") for w in part.split()]
    return [(sentence_case(pairs[0][0]), pairs[0][1])] + pairs[1:]


def distinct(rng, n, make):
    """`n` distinct results of `make(rng)`: no instance is repeated, within a dataset or across its splits."""
    seen, out = set(), []
    for _ in range(200 * n):
        item = make(rng)
        key = json.dumps(item)
        if key not in seen:
            seen.add(key)
            out.append(item)
            if len(out) == n:
                return out
    raise ValueError(f"only {len(out)} distinct items of {n}: add terms or frames")


def number(rng):
    return str(rng.randint(3, 40))


def variant(rng):
    """A sequence variant in one of BioRED's usual notations."""
    return rng.choice(
        [
            f"p.{rng.choice(AMINO_ACIDS)}{rng.randint(20, 900)}{rng.choice(AMINO_ACIDS)}",
            f"c.{rng.randint(100, 2500)}{rng.choice(BASES)}>{rng.choice(BASES)}",
            f"rs{rng.randint(100000, 9999999)}",
        ]
    )


def date(rng):
    return f"{rng.randint(2060, 2095)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"


EVAL_POOLS = {
    "disease": DISEASES[0],
    "adverse": ADVERSE_EFFECTS[0],
    "chemical": CHEMICALS[0],
    "gene": GENES[0],
    "tissue": TISSUES[0],
    "n": number,
}
INSTRUCT_POOLS = {
    "disease": DISEASES[1],
    "adverse": ADVERSE_EFFECTS[1],
    "chemical": CHEMICALS[1],
    "gene": GENES[1],
    "tissue": TISSUES[1],
    "n": number,
    "species": SPECIES,
    "organism": ORGANISMS,
    "cellline": CELL_LINES,
    "variant": variant,
}

SPLIT_SIZES = {"train": 16, "dev": 64, "test": 32}  # dev: what the demo evaluates on
EVAL_SIZE = sum(SPLIT_SIZES.values())  # instances per evaluation dataset, all distinct


def split_up(items):
    """{split: items} in the SPLIT_SIZES: train (the few-shot demonstrations), dev, test."""
    out, start = {}, 0
    for split, size in SPLIT_SIZES.items():
        out[split], start = items[start : start + size], start + size
    return out


# ---------------------------------------------------------------------------------------------
# writers, one per release format


def write_text(path, text, newline="\n"):
    """A plain write: every file lands in the temporary folder that `write_demo_corpus` renames at once."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8", newline=newline) as f:
        f.write(text)


def write_tsv(path, rows, header=None):
    write_text(path, "".join("\t".join(row) + "\n" for row in ([header] if header else []) + rows))


def write_conll(path, sentences):
    """BLURB/IOB `token<TAB>tag` lines, a blank line after each sentence."""
    write_text(path, "".join("".join(f"{t}\t{tag}\n" for t, tag in s) + "\n" for s in sentences))


def write_blurb_ner(raw, rng):
    """NCBI-disease, BC5CDR (one set of sentences, tagged twice as the release does) and BC2GM."""
    ncbi, cdr, bc2gm = (
        distinct(rng, EVAL_SIZE, filled(frames, EVAL_POOLS)) for frames in (NCBI_FRAMES, CDR_FRAMES, BC2GM_FRAMES)
    )
    files = {  # BLURB's files of these four are untyped: B and I
        "ncbi_disease": [conll_tokens(f, v, {"disease": ""}) for f, v in ncbi],
        "bc5cdr_chem": [conll_tokens(f, v, {"chemical": ""}) for f, v in cdr],
        "bc5cdr_disease": [conll_tokens(f, v, {"disease": "", "adverse": ""}) for f, v in cdr],
        "bc2gm": [conll_tokens(f, v, {"gene": ""}) for f, v in bc2gm],
    }
    for dataset, items in files.items():
        for split, part in split_up(items).items():
            write_conll(raw / dataset / f"{split}.tsv", part)


def relation_sentences(rng, n, frames, contexts, pools):
    """`n` distinct (sentence, label): a frame of a random label, ended by a context clause."""

    def one(rng):
        label = rng.choice(sorted(frames))
        frame = f"{rng.choice(frames[label])[:-1]} {rng.choice(contexts)}."
        return fill(frame, draw(rng, frame, pools))[0], label

    return distinct(rng, n, one)


def write_blurb_relations(raw, rng):
    """GAD, ChemProt and DDI in BLURB's masked `id<TAB>sentence<TAB>label` TSVs."""
    gad = {label: pair[0] for label, pair in GENE_DISEASE_FRAMES.items()}
    for dataset, frames, contexts, pair_id, header in (
        ("gad", gad, STUDY_CONTEXTS[0], "{k}", ["index", "sentence", "label"]),  # only GAD has a header
        ("chemprot", CHEMPROT_FRAMES, CHEMPROT_CONTEXTS, "230{k:05d}.T1.T2", None),
        ("ddi", DDI_FRAMES, DDI_CONTEXTS, "DDI-DrugBank.d{k}.s0.p0", None),
    ):
        for split, part in split_up(relation_sentences(rng, EVAL_SIZE, frames, contexts, EVAL_POOLS)).items():
            rows = [[pair_id.format(k=k), sentence, label] for k, (sentence, label) in enumerate(part)]
            write_tsv(raw / dataset / f"{split}.tsv", rows, header)


def write_hoc(raw, rng):
    """HoC: abstracts of 2-4 sentence rows `k_v flags<TAB>sentence<TAB>PMID_s<n>`."""

    def abstract(rng):
        sentences, size = {}, rng.randint(2, 4)  # sentence -> the hallmark it signals (or None), no repeats
        while len(sentences) < size:
            hallmark = rng.choice([None, None, *HOC_CUES])
            frame = rng.choice(HOC_NEUTRAL if hallmark is None else HOC_CUES[hallmark])
            sentences.setdefault(fill(frame, draw(rng, frame, EVAL_POOLS))[0], hallmark)
        return list(sentences.items())

    pmid = 29000000
    for split, part in split_up(distinct(rng, EVAL_SIZE, abstract)).items():
        rows = []
        for sentences in part:
            pmid += 1
            for n, (sentence, hallmark) in enumerate(sentences):
                flags = ",".join(f"{k}_{int(k == hallmark)}" for k in range(10))
                rows.append([flags, sentence, f"{pmid}_s{n}"])
        write_tsv(raw / "hoc" / f"{split}.tsv", rows, ["labels", "sentence", "index"])


def write_bioasq(raw, rng):
    """BioASQ yes/no: `id<TAB>question<TAB>snippets<TAB>yes|no`; the snippet decides the answer."""

    def one(rng):
        question, yes, no = rng.choice(BIOASQ_FRAMES)
        values = draw(rng, question + yes + no, EVAL_POOLS)
        answer = rng.choice(["yes", "no"])
        return fill(question, values)[0], fill(yes if answer == "yes" else no, values)[0], answer

    for split, part in split_up(distinct(rng, EVAL_SIZE, one)).items():
        write_tsv(raw / "bioasq" / f"{split}.tsv", [[f"demo{split}{k:03d}", *item] for k, item in enumerate(part)])


def excluding(pools, values):
    """`pools` without `values`: a second draw that shares no entity with the first."""
    return {k: p if callable(p) else [v for v in p if v not in values.values()] for k, p in pools.items()}


def biosses_pair(rng):
    """(sentence 1, sentence 2, level 0-4): one claim, and a second sentence that shares less and less."""
    level = rng.randint(0, 4)
    first, second = rng.sample(BIOSSES_CLAIMS, 2)
    slots = first[0] + first[1] + second[0]
    same = draw(rng, slots, EVAL_POOLS)
    other = draw(rng, slots, excluding(EVAL_POOLS, same))
    changed = rng.choice(SLOT.findall(first[1]))
    frame, values = {
        4: (first[1], same),  # the same claim, reworded
        3: (first[1], {**same, changed: other[changed]}),  # ... with one entity changed
        2: (second[0], same),  # another claim on the same entities
        1: (second[0], {**other, "disease": same["disease"]}),  # another claim on the same disease
        0: (second[0], other),  # another claim on other entities
    }[level]
    return fill(first[0], same)[0], fill(frame, values)[0], level


def write_biosses(raw, rng):
    """BIOSSES `pair_id<TAB>sent1<TAB>sent2<TAB>score`, the score a mean of annotators: level +- 0.4."""

    def one(rng):
        s1, s2, level = biosses_pair(rng)
        return s1, s2, f"{min(4.0, max(0.0, level + rng.uniform(-0.4, 0.4))):.1f}"

    for split, part in split_up(distinct(rng, EVAL_SIZE, one)).items():
        rows = [[str(k + {"train": 0, "dev": 100, "test": 200}[split]), *item] for k, item in enumerate(part)]
        write_tsv(raw / "biosses" / f"{split}.tsv", rows, ["pair_id", "sent1", "sent2", "score"])


def write_biored(raw, rng, n=300):
    """BioRED PubTator: title + one or two sentences, mentions with ids, relations between ids."""

    def document(rng):
        frames = [rng.choice(BIORED_TITLES)] + rng.sample(BIORED_SENTENCES, rng.randint(1, 2))
        return frames, draw(rng, "".join(f for f, _ in frames), INSTRUCT_POOLS)

    lines = []
    for k, (frames, values) in enumerate(distinct(rng, n, document)):
        pmid, text, mentions, relations = str(35000000 + k), "", [], {}
        for frame, declared in frames:
            offset = len(text) + 1 if text else 0
            sentence, spans = fill(frame, values)
            text = f"{text} {sentence}" if text else sentence
            mentions += [(offset + start, offset + end, slot) for slot, start, end in spans if slot != "n"]
            for relation in terms(declared):
                label, a, b = relation.split()
                relations.setdefault(frozenset((a, b)), (label, a, b))  # one relation per pair, the first stated
        title = fill(frames[0][0], values)[0]
        lines += [f"{pmid}|t|{title}", f"{pmid}|a|{text[len(title) + 1 :]}"]
        lines += [
            "\t".join(
                [
                    pmid,
                    str(start),
                    str(end),
                    text[start:end],
                    BIORED_TYPES[kind_of(slot)],
                    biored_id(slot, values[slot]),
                ]
            )
            for start, end, slot in mentions
        ]
        lines += [
            "\t".join([pmid, label, biored_id(a, values[a]), biored_id(b, values[b]), "Novel"])
            for label, a, b in relations.values()
        ]
        lines.append("")
    write_text(raw / "BioRED" / "demo" / "RE BioRED" / "data" / "BioRED" / "Train.PubTator", "\n".join(lines) + "\n")


BIORED_TYPES = {
    "gene": "GeneOrGeneProduct",
    "disease": "DiseaseOrPhenotypicFeature",
    "chemical": "ChemicalEntity",
    "variant": "SequenceVariant",
    "organism": "OrganismTaxon",
    "cellline": "CellLine",
}


BIORED_IDS = {
    "gene": "10{:02d}",
    "disease": "D{:06d}",
    "chemical": "C{:06d}",
    "organism": "96{:02d}",
    "cellline": "CVCL_{:04d}",
}  # numbered by place in the term list; no two types can share one


def biored_id(slot, value):
    """The normalised identifier of an entity (a variant is its own, as HGVS and rs names are)."""
    kind = kind_of(slot)
    return value if kind == "variant" else BIORED_IDS[kind].format(INSTRUCT_POOLS[kind].index(value))


def write_linnaeus(raw, rng, n=150):
    """LINNAEUS IOB: `token<TAB>B-Species/I-Species/O` sentences."""
    sentences = distinct(rng, n, filled(LINNAEUS_FRAMES, INSTRUCT_POOLS))
    write_conll(
        raw / "LINNAEUS" / "demo" / "linnaeus-IOB" / "train.tsv",
        [conll_tokens(frame, values, {"species": "Species"}) for frame, values in sentences],
    )


def write_euadr(raw, rng, n=80):
    """EU-ADR in BioBERT's RE TSV (`sentence<TAB>0|1`), fold 1 train and test, masked like GAD."""
    frames = {label: pair[1] for label, pair in GENE_DISEASE_FRAMES.items()}
    rows = [[s, label] for s, label in relation_sentences(rng, n, frames, STUDY_CONTEXTS[1], INSTRUCT_POOLS)]
    folder = raw / "EU-ADR" / "demo" / "datasets" / "RE" / "euadr" / "1"
    write_tsv(folder / "train.tsv", rows[: n * 3 // 4])
    write_tsv(folder / "test.tsv", rows[n * 3 // 4 :])


def write_trialstop(raw, rng, n=80):
    """TrialStop predictions TSV: stop reason, trial columns, and the class last."""
    header = [
        "stop_reason",
        "phase",
        "nct_id",
        "start_date",
        "status",
        "last_update_posted_date",
        "completion_date",
        "prediction",
    ]
    rows = []
    for k in range(n):
        label = rng.choice(sorted(TRIALSTOP_REASONS))
        frame = rng.choice(TRIALSTOP_REASONS[label])
        reason = fill(frame, draw(rng, frame, INSTRUCT_POOLS))[0]
        rows.append(
            [
                reason,
                rng.choice(["Phase 1", "Phase 2", "Phase 3", "nan"]),
                f"NCT0{4100000 + k}",
                date(rng),
                rng.choice(["Terminated", "Withdrawn", "Suspended"]),
                date(rng),
                date(rng),
                label,
            ]
        )
    write_tsv(raw / "TrialStop" / "demo" / "data" / "stopped_predictions_demo.tsv", rows, header)


def everyday_scene(rng):
    """(subject, its rewording), (action, its rewording), place: pieces of a general-English sentence."""
    return rng.choice(STS_SUBJECTS), rng.choice(STS_ACTIONS), rng.choice(STS_PLACES)


def write_stsb(raw, rng, n=80):
    """STS-B `genre file year id score sentence1 sentence2`: one scene, and a second that shares less."""

    def one(rng):
        ((subject, subject_2), (action, action_2), place), level = everyday_scene(rng), rng.randint(0, 5)
        while True:
            (other_subject, _), (other_action, _), other_place = everyday_scene(rng)
            if other_subject != subject and other_action != action and other_place != place:
                break
        second = {
            5: f"{subject_2} {action_2} {place}.",  # the same scene, reworded
            4: f"{subject_2} {action_2}.",  # the place left out
            3: f"{subject_2} {action_2} {other_place}.",  # another place
            2: f"{subject} {other_action} {place}.",  # another action
            1: f"{other_subject} {other_action} {place}.",  # only the place in common
            0: f"{other_subject} {other_action} {other_place}.",
        }[level]
        score = min(5.0, max(0.0, level + rng.uniform(-0.4, 0.4)))
        return f"{subject} {action} {place}.", second, f"{score:.3f}"

    rows = [
        ["main-captions", "images", "2014", f"{k:04d}", score, s1, s2]
        for k, (s1, s2, score) in enumerate(distinct(rng, n, one))
    ]
    write_tsv(raw / "STS-B" / "demo" / "data" / "stsbenchmark" / "sts-train.csv", rows)


def write_snli(raw, rng, n=80):
    """SNLI JSON lines: a scene as premise; a rewording (entailment), an incompatible state
    (contradiction) or an unverifiable addition (neutral) as hypothesis."""

    def one(rng):
        (subject, subject_2), (action, action_2), place = everyday_scene(rng)
        the = "The " + subject.split(" ", 1)[1]
        label = rng.choice(["entailment", "neutral", "contradiction"])
        hypothesis = {
            "entailment": f"{subject_2} {action_2}.",
            "neutral": f"{the} {action} {rng.choice(SNLI_ADDITIONS)}.",
            "contradiction": f"{the} {rng.choice(SNLI_CONTRADICTIONS)}.",
        }[label]
        return f"{subject} {action} {place}.", hypothesis, label

    lines = [
        json.dumps({"gold_label": label, "pairID": f"demo{k}", "sentence1": premise, "sentence2": hypothesis})
        for k, (premise, hypothesis, label) in enumerate(distinct(rng, n, one))
    ]
    write_text(raw / "SNLI" / "demo" / "snli_1.0" / "snli_1.0_train.jsonl", "\n".join(lines) + "\n")


NOTE_POOLS = {
    "drug": CHEMICALS[1],
    "reason": DISEASES[1],
    "ade": ADVERSE_EFFECTS[1],
    "strength": STRENGTHS,
    "route": ROUTES,
    "frequency": FREQUENCIES,
    "form": FORMS,
    "dosage": DOSAGES,
    "duration": DURATIONS,
}


def note_lines(rng, chosen, pools):
    """(text, spans) of a note with one frame per line; spans are (slot, line, start, end) in the note."""
    values = draw(rng, "".join(chosen), pools)
    text, spans = "", []
    for line, frame in enumerate(chosen):
        filled, inside = fill(frame, values)
        spans += [(slot, line, len(text) + start, len(text) + end) for slot, start, end in inside]
        text += filled + "\n"
    return text, spans


def write_n2c2_ade(raw, rng, n=40):
    """n2c2 2018 ADE in BRAT: `<id>.txt` and `<id>.ann` with T entities and `<Type>-Drug` relations."""
    folder = raw / "n2c2-2018-ade" / "demo" / "training_20180910"
    for note in range(100, 100 + n):
        text, spans = note_lines(rng, rng.sample(ADE_LINES, rng.randint(2, 3)), NOTE_POOLS)
        ids = {(slot, line): f"T{i + 1}" for i, (slot, line, _, _) in enumerate(spans)}
        ann = [
            f"{ids[slot, line]}\t{ADE_TYPES[kind_of(slot)]} {start} {end}\t{text[start:end]}"
            for slot, line, start, end in spans
        ]
        attributes = [(slot, line) for slot, line, _, _ in spans if kind_of(slot) != "drug"]
        for k, (slot, line) in enumerate(attributes, 1):  # `strength2` belongs to `drug2` of its line
            drug = ids["drug" + slot[len(kind_of(slot)) :], line]
            ann.append(f"R{k}\t{ADE_TYPES[kind_of(slot)]}-Drug Arg1:{ids[slot, line]} Arg2:{drug}")
        write_text(folder / f"{note}.txt", text)
        write_text(folder / f"{note}.ann", "\n".join(ann) + "\n")


DEID_POOLS = {
    "date": date,
    "name": lambda rng: f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}",
    "doctor": LAST_NAMES,
    "age": lambda rng: str(rng.randint(18, 88)),
    "profession": PROFESSIONS,
    "city": CITIES,
    "hospital": HOSPITALS,
    "complaint": COMPLAINTS,
    "mrn": lambda rng: str(rng.randint(1000000, 9999999)),
    "phone": lambda rng: f"({rng.randint(200, 989)}) {rng.randint(200, 989)}-{rng.randint(1000, 9999)}",
}
DEID_TAGS = {
    "date": ("DATE", "DATE"),
    "name": ("NAME", "PATIENT"),
    "doctor": ("NAME", "DOCTOR"),
    "age": ("AGE", "AGE"),
    "profession": ("PROFESSION", "PROFESSION"),
    "city": ("LOCATION", "CITY"),
    "hospital": ("LOCATION", "HOSPITAL"),
    "mrn": ("ID", "MEDICALRECORD"),
    "phone": ("CONTACT", "PHONE"),
}


def write_i2b2_2014_deid(raw, rng, n=40):
    """i2b2 2014 de-identification standoff XML: `<TEXT>` (CDATA) and `<TAGS>` with offsets."""
    folder = raw / "i2b2-2014-deid" / "demo" / "training-PHI-Gold-Set1"
    for k in range(n):
        body, spans = note_lines(rng, ["Record date: {date}"] + rng.sample(DEID_LINES, rng.randint(2, 4)), DEID_POOLS)
        text = "\n" + body  # the release's TEXT starts with the newline after `<![CDATA[`: offsets count it
        tags = []
        for slot, _, start, end in spans:
            if kind_of(slot) in DEID_TAGS:
                (tag, type_), start, end = DEID_TAGS[kind_of(slot)], start + 1, end + 1
                tags.append(
                    f'<{tag} id="P{len(tags)}" start="{start}" end="{end}" text={quoteattr(text[start:end])} '
                    f'TYPE="{type_}" comment="" />'
                )
        xml = (
            '<?xml version="1.0" encoding="UTF-8" ?>\n<deIdi2b2>\n<TEXT><![CDATA['
            + text
            + "]]></TEXT>\n<TAGS>\n"
            + "".join(t + "\n" for t in tags)
            + "</TAGS>\n</deIdi2b2>\n"
        )
        write_text(folder / f"{200 + k:03d}-01.xml", xml)


def write_mtsamples(raw, rng, n=40):
    """MTSamples CSV (`,description,medical_specialty,sample_name,transcription,keywords`, CRLF)."""

    def one(rng):
        specialty = rng.choice(sorted(MTSAMPLES_NOTES))
        frame = rng.choice(MTSAMPLES_NOTES[specialty])
        return specialty, fill(frame, {"n": number(rng)})[0]

    rows = [["", "description", "medical_specialty", "sample_name", "transcription", "keywords"]]
    for k, (specialty, note) in enumerate(distinct(rng, n, one)):
        rows.append([str(k), f" {note.split('.')[0]}.", f" {specialty}", f" Sample {k} ", note, specialty.lower()])
    out = io.StringIO(newline="")
    csv.writer(out).writerows(rows)
    write_text(raw / "MTSamples" / "demo" / "mtsamples.csv", out.getvalue(), newline="")


EVAL_WRITERS = (write_blurb_ner, write_blurb_relations, write_hoc, write_bioasq, write_biosses)
INSTRUCT_WRITERS = (
    write_biored,
    write_linnaeus,
    write_euadr,
    write_trialstop,
    write_stsb,
    write_snli,
    write_n2c2_ade,
    write_i2b2_2014_deid,
    write_mtsamples,
)


def write_demo_corpus(out, seed=42):
    """Write the whole raw folder `out` at once (atomically) and return its files; each writer has
    its own generator, so changing one writer leaves the files of the others as they were.

    `out` is replaced as a whole, so a folder that is not an earlier demo corpus (a user's real
    downloads, say) is refused rather than deleted: `atomic_directory` marks the folder as
    demo-corpus output and replaces only a folder so marked (or a new or empty one).
    """
    out = Path(out)
    with atomic_directory(out, "demo-corpus") as raw:
        for writer in EVAL_WRITERS + INSTRUCT_WRITERS:
            writer(Path(raw), random.Random(f"{seed}/{writer.__name__}"))
    return sorted(p.relative_to(out) for p in out.rglob("*") if p.is_file())


def main(argv=None):
    """Write the corpus and say where; an --out that is not safe to replace is one error line, exit 2."""
    parser = argparse.ArgumentParser(prog="demo.corpus", description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--out",
        type=Path,
        required=True,
        metavar="RAW",
        help="raw folder to write (replaced as a whole; must be new, empty or an earlier demo corpus)",
    )
    parser.add_argument(
        "--seed", type=int, default=42, help="generator seed (default 42); the same seed gives the same bytes"
    )
    args = parser.parse_args(argv)
    return run_main(parser.prog, write_and_report, args)


def write_and_report(args):
    files = write_demo_corpus(args.out, args.seed)
    print(
        f"demo corpus (seed {args.seed}): {len(files)} files below {args.out}; build them with "
        f"`python -m data_builders build --raw-dir {args.out}` and `build-instruct --raw-dir {args.out}`"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
