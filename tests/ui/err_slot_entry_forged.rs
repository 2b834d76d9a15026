// `slot_fields!` drops each field through the `SlotKind::ENTRY` of its type. Were `SlotKind`
// implementable, safe code could give a type the entry of another and have its value
// dropped as that type; it is sealed, and entries have no public constructor.
use onex::__private::{SlotKind, Slot, FieldDrop, RunSlots, slot_fields};

struct Forged(u64);

impl SlotKind for Forged {
    const NEEDS_DROP: bool = true;
    const ENTRY: FieldDrop = FieldDrop::of::<Slot<String>>();
}

slot_fields!(Fields { f: Forged, });

fn main() {
    drop(RunSlots::new(Fields { f: Forged(1) }));
}
