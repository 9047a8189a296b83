//! Grouping inputs into batches so that little work goes to padding.

/// Batches of input indices; each batch is padded to its longest member.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BatchPlan {
    pub batches: Vec<Vec<usize>>,
}

impl BatchPlan {
    /// Token positions the plan computes, padding included.
    pub fn padded_tokens(&self, lengths: &[usize]) -> usize {
        self.batches
            .iter()
            .map(|b| b.len() * b.iter().map(|&i| lengths[i]).max().unwrap_or(0))
            .sum()
    }
}

/// Sorts inputs by token length (longest first) and fills each batch while
/// `batch size × longest length` stays within `token_budget` and the batch has at most
/// `max_batch` members. A single input longer than the budget gets a batch of its own.
pub fn plan_batches(lengths: &[usize], token_budget: usize, max_batch: usize) -> BatchPlan {
    let max_batch = max_batch.max(1);
    let mut order: Vec<usize> = (0..lengths.len()).collect();
    // Stable sort: equal lengths keep input order, so plans are deterministic.
    order.sort_by_key(|&i| std::cmp::Reverse(lengths[i]));
    let mut batches = Vec::new();
    let mut current: Vec<usize> = Vec::new();
    let mut longest = 0;
    for i in order {
        let len = lengths[i].max(1);
        // Longest first, so the batch's padded width is its first member's length.
        let width = longest.max(len);
        if !current.is_empty()
            && (current.len() >= max_batch || (current.len() + 1) * width > token_budget)
        {
            batches.push(std::mem::take(&mut current));
            longest = 0;
        }
        longest = longest.max(len);
        current.push(i);
    }
    if !current.is_empty() {
        batches.push(current);
    }
    BatchPlan { batches }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_input_appears_exactly_once() {
        let lengths = [5, 300, 7, 7, 120, 1, 64, 64, 64, 9];
        let plan = plan_batches(&lengths, 256, 4);
        let mut seen: Vec<usize> = plan.batches.concat();
        seen.sort();
        assert_eq!(seen, (0..lengths.len()).collect::<Vec<_>>());
    }

    #[test]
    fn batches_respect_budget_and_size() {
        let lengths = [10, 20, 30, 40, 50, 60, 70, 80];
        let plan = plan_batches(&lengths, 100, 8);
        for b in &plan.batches {
            let width = b.iter().map(|&i| lengths[i]).max().unwrap();
            assert!(b.len() == 1 || b.len() * width <= 100, "{b:?}");
        }
        let plan = plan_batches(&lengths, 10_000, 3);
        assert!(plan.batches.iter().all(|b| b.len() <= 3));
    }

    #[test]
    fn oversized_input_gets_its_own_batch() {
        let plan = plan_batches(&[500, 3, 3], 100, 16);
        assert_eq!(plan.batches[0], vec![0]);
        assert_eq!(plan.batches[1], vec![1, 2]);
    }

    #[test]
    fn sorting_cuts_padding() {
        // Alternating short and long inputs: naive fixed batches of 4 pad every short one.
        let lengths: Vec<usize> = (0..64).map(|i| if i % 2 == 0 { 8 } else { 200 }).collect();
        let naive: usize = lengths
            .chunks(4)
            .map(|c| c.len() * c.iter().max().unwrap())
            .sum();
        let plan = plan_batches(&lengths, 800, 64);
        assert!(plan.padded_tokens(&lengths) * 10 < naive * 6);
    }

    #[test]
    fn empty_input_gives_no_batches() {
        assert!(plan_batches(&[], 100, 8).batches.is_empty());
    }
}
