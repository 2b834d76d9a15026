// `slots!` drops each field through the `DropSlot::ENTRY` of its type. Were `DropSlot`
// implementable, safe code could give a type the entry of another and have its value
// dropped as that type; it is sealed, and entries have no public constructor.
use onex::__private::{DropSlot, Slot, SlotDrop, Slots, slots};

struct Forged(u64);

impl DropSlot for Forged {
    const NEEDS_DROP: bool = true;
    const ENTRY: SlotDrop = SlotDrop::of::<Slot<String>>();
}

slots!(Fields { f: Forged, });

fn main() {
    drop(Slots::new(Fields { f: Forged(1) }));
}
